// ASVD, activation-aware SVD (Yuan et al.; hahnyuan/ASVD4LLM modules/svd_linear.py; ALGORITHMS.md
// §1.4): per-input-channel scale s_j = (mean over tokens of |x_j|)^α, α = 0.5 ("abs_mean");
// factor diag(s + 1e-6) W (W = weightᵀ [in, out]) by truncated SVD, then A ← diag(s + 1e-6)⁻¹ A.
// The per-layer binary search of ratios in ASVD4LLM is not done here: every layer gets the same ratio.
#pragma once
#include <memory>

#include "lmshrink/compress/svd.h"

namespace lmshrink {

// channel_abs_mean: [in], mean |x_j| of the layer's calibration inputs.
std::unique_ptr<LowRankLinear> compress_asvd(const Linear& layer, const at::Tensor& channel_abs_mean, int64_t rank,
                                             double alpha = 0.5);

}  // namespace lmshrink
