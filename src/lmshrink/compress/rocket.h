// ROCKET single-step sparse factorization (arXiv 2602.11008 §3, eqs. 5–7; ALGORITHMS.md §3.3) of one whitened
// matrix W_L = Sᵀ W [n, m] (G = S Sᵀ, whitening.h), with r atoms and s nonzeros per column:
//   1. basis: the top-r left singular vectors B of W_L (= eigenvectors of W_L W_Lᵀ, paper App. B.3) and the
//      coefficients C = Bᵀ W_L = Σ_r V_rᵀ [r, m]. Computed from the eigendecomposition of the smaller Gram side
//      (issue 20 item 4, as svd_llm.h): for m ≤ n, W_Lᵀ W_L = V Σ² Vᵀ and U = W_L V Σ⁻¹, ν_i = ‖W v_i‖ / σ_i with no
//      [n, n] solve; for n < m, W_L W_Lᵀ = U Σ² Uᵀ and Vᵀ = Σ⁻¹ Uᵀ W_L. Directions with σ_i ≤ 1e-7 σ_1 (below
//      the precision of that route; their coefficients are zero to it) get a zero atom and ν_i = 0;
//   2. importance (eq. 5): imp_ij = |c_ij| ν_i^λ with ν_i = ‖S⁻ᵀ b_i‖ the norm of atom i in the original space,
//      λ = 0.5 (the code's exp(½ log|c| + ½ log |c|ν));
//   3. sparsify: per column keep the s − ⌈β r⌉ most important entries (over-sparsify, β = 0.005, at least one), then
//      refill the column to exactly s with the dropped entries of largest original-space importance |c_ij| ν_i;
//   4. dictionary (eq. 7): ridge least squares D = W_L Vᵀ (V Vᵀ + μ I)⁻¹, μ = max(1e-6, 1e-3 tr(V Vᵀ)/r), by a
//      Cholesky solve (an LU solve if that fails); B is kept instead if it fits better. With s = r the ridge solve
//      is skipped: B is then the exact least-squares dictionary, and the ridge one (μ > 0) can only fit worse, so
//      ks = 1 is exactly SVD-LLM's truncated factorization;
//      errors without forming the residual: ‖W_L − B V‖² = ‖W_L‖² − ‖V‖² (B orthonormal, V = C on the support) and
//      ‖W_L − D V‖² = ‖W_L‖² − ⟨D, W_L Vᵀ⟩ − μ ‖D‖² (from D (V Vᵀ + μ I) = W_L Vᵀ), clamped at 0;
//   5. optional local refinement (the reference code's adam_refine, not in the paper): Adam on D and the nonzeros
//      of V with the support fixed, loss ‖W_L − D V‖² / ‖W_L‖², float64; kept only when the whitened error drops.
// Deviation (documented in README "rocket"): the paper re-activates masked entries globally "until the exact
// target compression ratio is reached" and the reference code re-activates the top 0.5 % of all masked entries
// anywhere in the matrix, so its columns end with varying counts. lmshrink's DictSparse format stores exactly s
// nonzeros in every column (uniform kernels, exact budget), so the refill runs per column.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

#include "lmshrink/compress/cospadi.h"
#include "lmshrink/compress/dict_group.h"

namespace lmshrink {

// The SVD of one whitened matrix, shared by every (r, s) of its profile (rocket_profile.h).
struct RocketBasis {
  at::Tensor u;           // [n, q] left singular vectors of W_L, q = min(n, m), float64 (zero columns past its rank)
  at::Tensor sigma;       // [q] descending
  at::Tensor vh;          // [q, m]
  at::Tensor atom_norms;  // ν [q]: column norms of S⁻ᵀ U
  double energy = 0.0;    // ‖W_L‖²
};

// whitened_n_m: W_L float64; lower_n_n: S with G = S Sᵀ; weight_n_m: W = S⁻ᵀ W_L (the layer's weight, [in, out]).
RocketBasis rocket_basis(const at::Tensor& whitened_n_m, const at::Tensor& lower_n_n, const at::Tensor& weight_n_m);

struct RocketOptions {
  int64_t atoms = 0;                 // r, 1 ≤ r ≤ min(n, m)
  int64_t nonzeros = 0;              // s, 1 ≤ s ≤ r
  double importance_exponent = 0.5;  // λ
  double oversparsify = 0.005;       // β
  int64_t refine_steps = 0;          // Adam steps of the local refinement (0: none)
  double refine_lr = 1e-3;
};

struct RocketFit {
  DictFit fit;  // D_L [n, r] (whitened), S rows/values [s, m]; fit.objective: the chosen ‖W_L − D S‖²
  double eigenbasis_error = 0.0, least_squares_error = -1.0, refined_error = -1.0;  // ‖W_L − D S‖² of each stage, −1: not run
  std::string chosen;  // "eigenbasis", "least-squares" or "refined"
};

RocketFit fit_rocket(const at::Tensor& whitened_n_m, const RocketBasis& basis, const RocketOptions& options);

// The steps, exposed for tests.
// |c_ij| ν_i^λ for coefficients [r, m] and atom norms [r].
at::Tensor rocket_importance(const at::Tensor& coeff_r_m, const at::Tensor& atom_norms_r, double exponent);
// Rows int64 [s, m] (ascending per column): the over-sparsified top entries by importance, refilled to s by
// refill_score (both [r, m]).
at::Tensor rocket_support(const at::Tensor& importance_r_m, const at::Tensor& refill_score_r_m, int64_t s, double oversparsify);
// Ridge least squares D = W_L Vᵀ (V Vᵀ + μ I)⁻¹ for the sparse coefficient matrix V [r, m] (dense, zeros off-support).
struct RidgeFit {
  at::Tensor dictionary;  // D [n, r]
  double error = 0.0;     // ‖W_L − D V‖², from the closed form above
};
RidgeFit ridge_fit(const at::Tensor& whitened_n_m, const at::Tensor& sparse_r_m, double energy);
at::Tensor ridge_dictionary(const at::Tensor& whitened_n_m, const at::Tensor& sparse_r_m);

struct CompressedLayer;
struct LayerStats;
struct ProfileOption;
struct RocketCompressOptions;
class Linear;
// One matrix of a compress run at its allocated option (rocket_alloc.h): whitened with the layer's Gram, fitted,
// and mapped back to a DictSparse layer, or to a LowRank one A = S⁻ᵀ D (a triangular solve) when s = r (ks = 1) and the
// factors are not quantized; quantized factors (quantization.bits 8 or 4) are always stored as DictSparse, low rank
// as s = r. A choice of rate 0 leaves the matrix dense. Replaces the slot and returns the layer's record.
CompressedLayer compress_rocket_layer(std::unique_ptr<Linear>& slot, const std::string& name, const LayerStats* stats,
                                      const RocketCompressOptions& options, const ProfileOption& choice,
                                      const FactorQuantization& quantization = {});

}  // namespace lmshrink
