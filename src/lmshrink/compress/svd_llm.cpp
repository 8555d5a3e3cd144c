// SVD-LLM truncation-aware whitening (see svd_llm.h).
#include "lmshrink/compress/svd_llm.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

SvdLlmResult compress_svd_llm(const Linear& layer, const at::Tensor& gram_in_in, int64_t rank) {
  at::Tensor w_in_out = layer.dense().t().to(torch::kFloat64);
  LMSHRINK_CHECK(gram_in_in.size(0) == w_in_out.size(0), "svd-llm: Gram matrix is ", gram_in_in.size(0), " x ",
                 gram_in_in.size(1), " but the layer has ", w_in_out.size(0), " inputs");
  Whitening whitening = cholesky_whitening(gram_in_in);
  at::Tensor whitened = torch::matmul(whitening.lower.t(), w_in_out);  // Sᵀ W [in, out]
  auto [u, sigma, vh] = at::linalg_svd(whitened, /*full_matrices=*/false);
  LMSHRINK_CHECK(rank >= 1 && rank <= sigma.size(0), "svd-llm: rank ", rank, " outside [1, ", sigma.size(0), "]");
  at::Tensor root = sigma.narrow(0, 0, rank).sqrt();
  at::Tensor a_whitened = u.narrow(1, 0, rank) * root.unsqueeze(0);                  // Sᵀ A
  at::Tensor a_in_rank = at::linalg_solve_triangular(whitening.lower.t(), a_whitened, /*upper=*/true);
  at::Tensor b_rank_out = root.unsqueeze(1) * vh.narrow(0, 0, rank);
  SvdLlmResult result;
  result.gram_shift = whitening.shift;
  result.truncation_loss = sigma.narrow(0, rank, sigma.size(0) - rank).pow(2).sum().item<double>();
  LMSHRINK_CHECK(torch::isfinite(a_in_rank).all().item<bool>(), "svd-llm: non-finite factors (degenerate Gram matrix)");
  result.layer = std::make_unique<LowRankLinear>(a_in_rank.to(torch::kFloat32).contiguous(),
                                                 b_rank_out.to(torch::kFloat32).contiguous(), layer.bias());
  return result;
}

}  // namespace lmshrink
