// LowRankLinear: y = (x A) B (+ b), A [in, rank], B [rank, out] — the factorized layer every
// low-rank method produces (ALGORITHMS.md §8.7 LowRank{U in×r, V r×out}); r(in + out) parameters.
#pragma once
#include "lmshrink/model/linear.h"

namespace lmshrink {

class LowRankLinear : public Linear {
 public:
  // a_in_rank: [in, rank]; b_rank_out: [rank, out] (any floating dtype, kept as given: linear.h compute_tensor);
  // bias: [out] or undefined.
  LowRankLinear(at::Tensor a_in_rank, at::Tensor b_rank_out, at::Tensor bias = at::Tensor());
  at::Tensor forward(const at::Tensor& x) const override;
  at::Tensor dense() const override;  // (A B)ᵀ: [out, in]
  ParamCount params() const override;
  std::string format() const override { return "lowrank"; }
  int64_t in_features() const override { return a_in_rank_.size(0); }
  int64_t out_features() const override { return b_rank_out_.size(1); }
  int64_t rank() const { return a_in_rank_.size(1); }
  const at::Tensor& a() const { return a_in_rank_; }
  const at::Tensor& b() const { return b_rank_out_; }
  const at::Tensor& bias() const override { return bias_; }

 private:
  at::Tensor a_in_rank_, b_rank_out_, bias_;
};

}  // namespace lmshrink
