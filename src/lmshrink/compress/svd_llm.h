// SVD-LLM, truncation-aware whitening (Wang et al., ICLR'25; ALGORITHMS.md §1.2 steps 2–3), in the
// W = weightᵀ [in, out] convention: S = cholesky(G) with G = XᵀX, SVD of the whitened Sᵀ W =
// U Σ Vᵀ, keep r; A = S⁻ᵀ U_r Σ_r^½ (a triangular solve, not an explicit inverse), B = Σ_r^½ V_rᵀ.
// Then ‖X (W − A B)‖_F² = Σ_{i>r} σ_i² of Sᵀ W: the truncation loss is exactly what is discarded.
#pragma once
#include <memory>

#include "lmshrink/compress/svd.h"
#include "lmshrink/compress/whitening.h"

namespace lmshrink {

struct SvdLlmResult {
  std::unique_ptr<LowRankLinear> layer;
  double gram_shift = 0.0;           // > 0 when the Gram matrix needed the eigenvalue shift
  double truncation_loss = 0.0;      // Σ_{i>r} σ_i² of the whitened weight
};

// gram_in_in: XᵀX of the layer's input, float64 [in, in].
SvdLlmResult compress_svd_llm(const Linear& layer, const at::Tensor& gram_in_in, int64_t rank);

}  // namespace lmshrink
