// The kernel-backed Linear layers of fast CPU inference (issue 11; ALGORITHMS.md §8.7): each holds only the packed
// form of its source layer's weights (packed_matrix.h, sparse_columns.h), in float32 or bfloat16 storage.
//   FastDenseLinear     y = x Wᵀ                      W packed [out, in]
//   FastLowRankLinear   y = (x A) B                   Aᵀ packed [rank, in], Bᵀ packed [out, rank]
//   FastDictSparseLinear y = (x D) S                  Dᵀ packed [k, in] (shared by a dictionary group), S as columns
// format() and dense() match the source layer's (dense() is the reference every kernel is tested against);
// bytes_read_per_token() is what one decoded token reads of the layer's weights.
#pragma once
#include <functional>
#include <memory>

#include "lmshrink/model/linear.h"
#include "lmshrink/runtime/packed_matrix.h"
#include "lmshrink/runtime/sparse_columns.h"

namespace lmshrink {

class KernelLinear : public Linear {
 public:
  virtual int64_t bytes_read_per_token() const = 0;
  const at::Tensor& bias() const override { return bias_; }

 protected:
  explicit KernelLinear(at::Tensor bias) : bias_(std::move(bias)) {}
  at::Tensor run(const at::Tensor& x, int64_t in_features,
                 const std::function<at::Tensor(const at::Tensor&)>& multiply) const;  // flatten, multiply, bias
  int64_t bias_bytes() const { return bias_.defined() ? bias_.numel() * static_cast<int64_t>(sizeof(float)) : 0; }
  at::Tensor bias_;  // float32 [out] or undefined
};

class FastDenseLinear : public KernelLinear {
 public:
  FastDenseLinear(const at::Tensor& weight_out_in, at::Tensor bias, WeightStorage storage);
  at::Tensor forward(const at::Tensor& x) const override;
  at::Tensor dense() const override { return weight_.to_float(); }
  ParamCount params() const override;
  std::string format() const override { return "dense"; }
  int64_t in_features() const override { return weight_.cols(); }
  int64_t out_features() const override { return weight_.rows(); }
  int64_t bytes_read_per_token() const override { return weight_.bytes() + bias_bytes(); }

 private:
  PackedMatrix weight_;
};

class FastLowRankLinear : public KernelLinear {
 public:
  // a_in_rank [in, rank], b_rank_out [rank, out] as in LowRankLinear.
  FastLowRankLinear(const at::Tensor& a_in_rank, const at::Tensor& b_rank_out, at::Tensor bias, WeightStorage storage);
  at::Tensor forward(const at::Tensor& x) const override;
  at::Tensor dense() const override;
  ParamCount params() const override;
  std::string format() const override { return "lowrank"; }
  int64_t in_features() const override { return a_t_.cols(); }
  int64_t out_features() const override { return b_t_.rows(); }
  int64_t bytes_read_per_token() const override { return a_t_.bytes() + b_t_.bytes() + bias_bytes(); }

 private:
  PackedMatrix a_t_, b_t_;  // Aᵀ [rank, in], Bᵀ [out, rank]
};

class FastDictSparseLinear : public KernelLinear {
 public:
  // dictionary_t: the packed Dᵀ [k, in], possibly shared by the layers of a dictionary group.
  FastDictSparseLinear(std::shared_ptr<const PackedMatrix> dictionary_t, SparseColumns coefficients, at::Tensor bias);
  at::Tensor forward(const at::Tensor& x) const override;
  at::Tensor dense() const override;
  ParamCount params() const override;
  std::string format() const override { return "dictsparse"; }
  int64_t in_features() const override { return dictionary_t_->cols(); }
  int64_t out_features() const override { return coefficients_.columns(); }
  int64_t bytes_read_per_token() const override {
    return dictionary_t_->bytes() + coefficients_.bytes() + bias_bytes();
  }
  const SparseColumns& coefficients() const { return coefficients_; }

 private:
  std::shared_ptr<const PackedMatrix> dictionary_t_;
  SparseColumns coefficients_;
};

}  // namespace lmshrink
