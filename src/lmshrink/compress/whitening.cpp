// Cholesky whitening with the SVD-LLM eigenvalue shift (see whitening.h).
#include "lmshrink/compress/whitening.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

Whitening cholesky_whitening(const at::Tensor& gram_in_in, double epsilon) {
  LMSHRINK_CHECK(gram_in_in.dim() == 2 && gram_in_in.size(0) == gram_in_in.size(1), "whitening: Gram matrix must be square");
  at::Tensor gram = gram_in_in.to(torch::kFloat64);
  LMSHRINK_CHECK(torch::isfinite(gram).all().item<bool>(), "whitening: Gram matrix has NaN or Inf entries");
  // Memory: at 8B widths one [in, in] float64 matrix is 1.6 GB, so the steps below keep at most the caller's Gram, its
  // symmetrized copy and one factor alive (in-place halving and diagonal shifts give the same bits as (G + Gᵀ) / 2 and
  // G + shift I).
  gram = (gram + gram.t()).mul_(0.5);
  Whitening result;
  {
    auto [lower, info] = at::linalg_cholesky_ex(gram);
    if (info.item<int64_t>() == 0) {
      result.lower = lower;
      return result;
    }
  }
  double lambda_min = at::linalg_eigvalsh(gram).min().item<double>();
  result.shift = -lambda_min + epsilon;
  gram.diagonal().add_(result.shift);
  auto [lower_shifted, info_shifted] = at::linalg_cholesky_ex(gram);
  if (info_shifted.item<int64_t>() != 0) {  // rounding left it indefinite: shift by a relative amount
    double extra = 1e-10 * std::max(1.0, (gram.diagonal() - result.shift).abs().max().item<double>());
    result.shift += extra;
    gram.diagonal().add_(extra);
    lower_shifted = at::linalg_cholesky(gram);
  }
  result.lower = lower_shifted;
  return result;
}

}  // namespace lmshrink
