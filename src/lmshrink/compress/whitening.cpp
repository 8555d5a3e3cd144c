// Cholesky whitening with the SVD-LLM eigenvalue shift (see whitening.h).
#include "lmshrink/compress/whitening.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

Whitening cholesky_whitening(const at::Tensor& gram_in_in, double epsilon) {
  LMSHRINK_CHECK(gram_in_in.dim() == 2 && gram_in_in.size(0) == gram_in_in.size(1), "whitening: Gram matrix must be square");
  at::Tensor gram = gram_in_in.to(torch::kFloat64);
  LMSHRINK_CHECK(torch::isfinite(gram).all().item<bool>(), "whitening: Gram matrix has NaN or Inf entries");
  gram = (gram + gram.t()) / 2;
  Whitening result;
  auto [lower, info] = at::linalg_cholesky_ex(gram);
  if (info.item<int64_t>() == 0) {
    result.lower = lower;
    return result;
  }
  double lambda_min = at::linalg_eigvalsh(gram).min().item<double>();
  result.shift = -lambda_min + epsilon;
  at::Tensor shifted = gram + result.shift * torch::eye(gram.size(0), gram.options());
  auto [lower_shifted, info_shifted] = at::linalg_cholesky_ex(shifted);
  if (info_shifted.item<int64_t>() != 0) {  // rounding left it indefinite: shift by a relative amount
    result.shift += 1e-10 * std::max(1.0, gram.diagonal().abs().max().item<double>());
    shifted = gram + result.shift * torch::eye(gram.size(0), gram.options());
    lower_shifted = at::linalg_cholesky(shifted);
  }
  result.lower = lower_shifted;
  return result;
}

}  // namespace lmshrink
