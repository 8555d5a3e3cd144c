// ASVD activation-aware scaling (see asvd.h).
#include "lmshrink/compress/asvd.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

std::unique_ptr<LowRankLinear> compress_asvd(const Linear& layer, const at::Tensor& channel_abs_mean, int64_t rank,
                                             double alpha) {
  at::Tensor w_in_out = layer.dense().t().to(torch::kFloat64);
  LMSHRINK_CHECK(channel_abs_mean.dim() == 1 && channel_abs_mean.size(0) == w_in_out.size(0), "asvd: activation scale has ",
                 channel_abs_mean.numel(), " entries, the layer has ", w_in_out.size(0), " inputs");
  at::Tensor scale = channel_abs_mean.to(torch::kFloat64).clamp_min(0).pow(alpha) + 1e-6;  // [in]
  LowRankFactors f = truncated_svd_factors(scale.unsqueeze(1) * w_in_out, rank);
  at::Tensor a_in_rank = f.a_in_rank / scale.unsqueeze(1);
  return std::make_unique<LowRankLinear>(a_in_rank.to(torch::kFloat32).contiguous(),
                                         f.b_rank_out.to(torch::kFloat32).contiguous(), layer.bias());
}

}  // namespace lmshrink
