// Plain truncated SVD, data-free (ALGORITHMS.md §1.1): W = U Σ Vᵀ with W = weightᵀ [in, out];
// keep the top r: A = U_r Σ_r^½ [in, r], B = Σ_r^½ V_rᵀ [r, out]. Computed in float64.
#pragma once
#include <memory>

#include "lmshrink/model/low_rank.h"

namespace lmshrink {

// The rank-r factors of a matrix w_in_out [in, out] (float64 in, float32 out): A [in, r], B [r, out].
struct LowRankFactors {
  at::Tensor a_in_rank, b_rank_out;
};
LowRankFactors truncated_svd_factors(const at::Tensor& w_in_out, int64_t rank);

// Compresses one layer (weight [out, in], bias kept dense).
std::unique_ptr<LowRankLinear> compress_svd(const Linear& layer, int64_t rank);

}  // namespace lmshrink
