// SVD-LLM, truncation-aware whitening (Wang et al., ICLR'25; ALGORITHMS.md §1.2 steps 2–3), in the
// W = weightᵀ [in, out] convention: S = cholesky(G) with G = XᵀX, SVD of the whitened Sᵀ W =
// U Σ Vᵀ, keep r; A = S⁻ᵀ U_r Σ_r^½, B = Σ_r^½ V_rᵀ. Then ‖X (W − A B)‖_F² = Σ_{i>r} σ_i² of Sᵀ W:
// the truncation loss is exactly what is discarded.
//
// The same factors come from an eigendecomposition of the smaller side of Sᵀ W (issue 20, item 4):
//  - out ≤ in: Wᵀ G W = (Sᵀ W)ᵀ (Sᵀ W) = V Σ² Vᵀ, and S⁻ᵀ U_r Σ_r^½ = W V_r Σ_r^-½ — no Cholesky, no
//    shift and no [in, in] solve, so a down_proj of an 8B model costs one G W product and one
//    [out, out] eigh. When X W has fewer than r directions the kept ones are chosen on
//    Wᵀ (G + εI) W, ε = 1e-6, as SVD-LLM's shift would.
//  - in < out: S = cholesky(G) (shifted as whitening.h says when G is singular), K = Sᵀ W,
//    K Kᵀ = U Σ² Uᵀ ([in, in] eigh), A = S⁻ᵀ U_r Σ_r^½, B = Σ_r^-½ U_rᵀ K.
#pragma once
#include <memory>

#include "lmshrink/compress/svd.h"
#include "lmshrink/compress/whitening.h"

namespace lmshrink {

struct SvdLlmResult {
  std::unique_ptr<LowRankLinear> layer;
  double gram_shift = 0.0;           // > 0 when the Gram matrix needed the eigenvalue shift
  double truncation_loss = 0.0;      // Σ_{i>r} σ_i² of the whitened weight
  double whitened_norm2 = -1.0;      // tr(Wᵀ G W) with the unshifted G when computed on the way, else −1
};

// gram_in_in: XᵀX of the layer's input, float64 [in, in].
SvdLlmResult compress_svd_llm(const Linear& layer, const at::Tensor& gram_in_in, int64_t rank);

}  // namespace lmshrink
