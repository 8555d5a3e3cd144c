// COMPOT (arXiv 2602.15200; ALGORITHMS.md §4, reconstructed from secondary sources — see §9 item 1): an
// orthonormal dictionary D [n, k] (DᵀD = I, k ≤ n) in the whitened space, W_L ≈ D S, by alternating two
// closed-form steps from the SVD initialisation D⁰ = top-k left singular vectors of W_L:
//   coding:     S = H_s(Dᵀ W_L), the s largest-|·| entries of each column (exact: ‖W_L − DS‖² =
//               ‖(I − DDᵀ) W_L‖² + ‖DᵀW_L − S‖² for orthonormal D);
//   dictionary: orthogonal Procrustes, D = P Qᵀ from the thin SVD W_L Sᵀ = P Σ Qᵀ.
// Both steps are exact minimisers, so the objective never increases; iterations stop when the relative
// decrease falls below `tolerance` or after max_iterations.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "lmshrink/compress/cospadi.h"

namespace lmshrink {

struct CompotOptions {
  int64_t atoms = 0;     // k ≤ n
  int64_t nonzeros = 0;  // s ≤ k
  int64_t max_iterations = 20;
  double tolerance = 1e-4;
};

// whitened_n_m: W_L float64 [n, m]. objective: ‖W_L − D S‖² after the initial coding and after every
// half step (Procrustes, then coding) of each iteration.
DictFit fit_compot(const at::Tensor& whitened_n_m, const CompotOptions& options);

// The two steps, exposed for tests.
SparseCode hard_threshold_code(const at::Tensor& orthonormal_n_k, const at::Tensor& whitened_n_m, int64_t s);
at::Tensor procrustes_dictionary(const at::Tensor& whitened_n_m, const SparseCode& code, int64_t k);  // [n, k]

}  // namespace lmshrink
