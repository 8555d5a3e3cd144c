// LowRankLinear (see low_rank.h): two thin matmuls, never the dense product.
#include "lmshrink/model/low_rank.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

LowRankLinear::LowRankLinear(at::Tensor a_in_rank, at::Tensor b_rank_out, at::Tensor bias)
    : a_in_rank_(row_major(a_in_rank)), b_rank_out_(row_major(b_rank_out)), bias_(std::move(bias)) {
  LMSHRINK_CHECK(a_in_rank_.dim() == 2 && b_rank_out_.dim() == 2 && a_in_rank_.size(1) == b_rank_out_.size(0),
                 "low-rank linear: factors must be A [in, rank] and B [rank, out], got ", a_in_rank_.sizes(), " and ",
                 b_rank_out_.sizes());
  LMSHRINK_CHECK(a_in_rank_.size(1) > 0, "low-rank linear: rank must be positive");
  LMSHRINK_CHECK(!bias_.defined() || (bias_.dim() == 1 && bias_.size(0) == b_rank_out_.size(1)),
                 "low-rank linear: bias must be [", b_rank_out_.size(1), "]");
}

at::Tensor LowRankLinear::forward(const at::Tensor& x) const {
  at::Tensor y = torch::matmul(torch::matmul(x, as_dtype_of(a_in_rank_, x)), as_dtype_of(b_rank_out_, x));
  return bias_.defined() ? y + as_dtype_of(bias_, x) : y;
}

at::Tensor LowRankLinear::dense() const {
  return torch::matmul(compute_tensor(a_in_rank_), compute_tensor(b_rank_out_)).t().contiguous();
}

ParamCount LowRankLinear::params() const {
  ParamCount count;
  count.values = a_in_rank_.numel() + b_rank_out_.numel() + (bias_.defined() ? bias_.numel() : 0);
  count.bytes = a_in_rank_.numel() * a_in_rank_.element_size() + b_rank_out_.numel() * b_rank_out_.element_size() +
                (bias_.defined() ? bias_.numel() * bias_.element_size() : 0);
  return count;
}

}  // namespace lmshrink
