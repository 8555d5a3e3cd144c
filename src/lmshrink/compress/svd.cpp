// Plain truncated SVD (see svd.h).
#include "lmshrink/compress/svd.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

LowRankFactors truncated_svd_factors(const at::Tensor& w_in_out, int64_t rank) {
  LMSHRINK_CHECK(rank >= 1 && rank <= std::min(w_in_out.size(0), w_in_out.size(1)), "svd: rank ", rank,
                 " outside [1, ", std::min(w_in_out.size(0), w_in_out.size(1)), "]");
  auto [u, sigma, vh] = at::linalg_svd(w_in_out.to(torch::kFloat64), /*full_matrices=*/false);
  at::Tensor root = sigma.narrow(0, 0, rank).sqrt();
  LowRankFactors factors;
  factors.a_in_rank = u.narrow(1, 0, rank) * root.unsqueeze(0);
  factors.b_rank_out = root.unsqueeze(1) * vh.narrow(0, 0, rank);
  return factors;
}

std::unique_ptr<LowRankLinear> compress_svd(const Linear& layer, int64_t rank) {
  LowRankFactors f = truncated_svd_factors(layer.dense().t(), rank);
  return std::make_unique<LowRankLinear>(f.a_in_rank.to(torch::kFloat32).contiguous(),
                                         f.b_rank_out.to(torch::kFloat32).contiguous(), layer.bias());
}

}  // namespace lmshrink
