// The kernel-backed Linear layers of fast CPU inference (issue 11; ALGORITHMS.md §8.7): each holds only the packed
// form of its source layer's weights (packed_matrix.h, sparse_columns.h), in float32 or bfloat16 storage, as a first
// packed product z = x Fᵀ followed by the rest of the layer, finish(z):
//   FastDenseLinear      y = x Wᵀ                      F = W [out, in], finish adds the bias
//   FastLowRankLinear    y = (x A) B                   F = Aᵀ [rank, in], finish multiplies by Bᵀ packed [out, rank]
//   FastDictSparseLinear y = (x D) S                   F = Dᵀ [k, in] (shared by a dictionary group), S as columns
// Layers that read one input can run their F as one product (fused_first_factors.h). format() and dense() match the
// source layer's (dense() is the reference every kernel is tested against); bytes_read_per_token() is what one
// decoded token reads of the layer's weights.
#pragma once
#include <memory>

#include "lmshrink/model/linear.h"
#include "lmshrink/runtime/packed_matrix.h"
#include "lmshrink/runtime/sparse_columns.h"

namespace lmshrink {

class KernelLinear : public Linear {
 public:
  at::Tensor forward(const at::Tensor& x) const override;  // finish(x Fᵀ), in x's shape and dtype
  virtual at::Tensor finish(const at::Tensor& first_product) const = 0;  // float32 [tokens, F rows] -> [tokens, out]
  virtual int64_t bytes_read_per_token() const = 0;
  const at::Tensor& bias() const override { return bias_; }
  const PackedMatrix& first_factor() const { return *first_; }
  const SameInputGroup* same_input_group() const override { return group_.get(); }
  void join_group(std::shared_ptr<const SameInputGroup> group) { group_ = std::move(group); }  // fused_first_factors.h

 protected:
  KernelLinear(std::shared_ptr<const PackedMatrix> first, at::Tensor bias);
  int64_t bias_bytes() const { return bias_.defined() ? bias_.numel() * static_cast<int64_t>(sizeof(float)) : 0; }
  at::Tensor add_bias(at::Tensor y) const { return bias_.defined() ? y.add_(bias_) : y; }
  std::shared_ptr<const PackedMatrix> first_;
  at::Tensor bias_;  // float32 [out] or undefined

 private:
  std::shared_ptr<const SameInputGroup> group_;
};

// x [..., in] of any floating dtype as the float32 contiguous [tokens, in] the kernels take, and back.
at::Tensor kernel_input(const at::Tensor& x, int64_t in_features, const std::string& format);
at::Tensor kernel_output(const at::Tensor& y_tokens_out, const at::Tensor& x);

class FastDenseLinear : public KernelLinear {
 public:
  FastDenseLinear(const at::Tensor& weight_out_in, at::Tensor bias, WeightStorage storage);
  at::Tensor finish(const at::Tensor& first_product) const override;
  at::Tensor dense() const override { return first_->to_float(); }
  ParamCount params() const override;
  std::string format() const override { return "dense"; }
  int64_t in_features() const override { return first_->cols(); }
  int64_t out_features() const override { return first_->rows(); }
  int64_t bytes_read_per_token() const override { return first_->bytes() + bias_bytes(); }
};

class FastLowRankLinear : public KernelLinear {
 public:
  // a_in_rank [in, rank], b_rank_out [rank, out] as in LowRankLinear.
  FastLowRankLinear(const at::Tensor& a_in_rank, const at::Tensor& b_rank_out, at::Tensor bias, WeightStorage storage);
  at::Tensor finish(const at::Tensor& first_product) const override;
  at::Tensor dense() const override;
  ParamCount params() const override;
  std::string format() const override { return "lowrank"; }
  int64_t in_features() const override { return first_->cols(); }
  int64_t out_features() const override { return b_t_.rows(); }
  int64_t bytes_read_per_token() const override { return first_->bytes() + b_t_.bytes() + bias_bytes(); }

 private:
  PackedMatrix b_t_;  // Bᵀ [out, rank]; F is Aᵀ [rank, in]
};

class FastDictSparseLinear : public KernelLinear {
 public:
  // dictionary_t: the packed Dᵀ [k, in], possibly shared by the layers of a dictionary group.
  FastDictSparseLinear(std::shared_ptr<const PackedMatrix> dictionary_t, SparseColumns coefficients, at::Tensor bias);
  at::Tensor finish(const at::Tensor& first_product) const override;
  at::Tensor dense() const override;
  ParamCount params() const override;
  std::string format() const override { return "dictsparse"; }
  int64_t in_features() const override { return first_->cols(); }
  int64_t out_features() const override { return coefficients_.columns(); }
  int64_t bytes_read_per_token() const override { return first_->bytes() + coefficients_.bytes() + bias_bytes(); }
  const SparseColumns& coefficients() const { return coefficients_; }

 private:
  SparseColumns coefficients_;  // F is the dictionary Dᵀ [k, in]
};

}  // namespace lmshrink
