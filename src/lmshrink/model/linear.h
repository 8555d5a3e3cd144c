// The one interface every linear layer of the model goes through: y = x Wᵀ (+ b), W is [out, in].
// Dense is the uncompressed implementation; the compression methods add LowRank, DictSparse,
// SharedAtoms and Identity beside it (DESIGN.md, "Key interfaces"), so the forward pass never
// special-cases a method.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lmshrink {

struct ParamCount {
  int64_t values = 0;       // stored numbers (weights, factors, nonzero coefficients)
  int64_t index_bytes = 0;  // sparse index / mask storage, 0 for dense formats
  int64_t bytes = 0;        // bytes of all stored tensors at their storage dtype
};

class Linear;

// Layers that read one input (q|k|v, gate|up) and were fused at load for fast inference
// (runtime/fused_first_factors.h) compute their outputs together: one product for all of them.
class SameInputGroup {
 public:
  virtual ~SameInputGroup() = default;
  virtual std::vector<const Linear*> members() const = 0;
  virtual std::vector<at::Tensor> forward(const at::Tensor& x) const = 0;  // each member's output, in member order
};

class Linear {
 public:
  virtual ~Linear() = default;
  virtual at::Tensor forward(const at::Tensor& x) const = 0;  // x [..., in] -> [..., out]
  virtual at::Tensor dense() const = 0;                       // reconstructed W [out, in]
  virtual ParamCount params() const = 0;
  virtual std::string format() const = 0;                     // "dense", "lowrank", ...
  virtual const at::Tensor& bias() const = 0;                 // [out], undefined when there is none
  virtual int64_t in_features() const = 0;
  virtual int64_t out_features() const = 0;
  virtual const SameInputGroup* same_input_group() const { return nullptr; }  // set only by fusion at load
};

// t itself when its strides are exactly the row-major strides of its sizes, else a row-major copy. libtorch calls a
// [n, 1] tensor with strides [1, n] contiguous (size-1 dimensions are skipped), yet hands it to BLAS with the other
// transpose flag, and OpenBLAS's AVX-512 kernels sum the two layouts in different orders (issue 27: a rank-1 MASA
// residual built as a transposed view gave other logits than the same residual loaded from a file). Every layer stores
// its weights and factors through this, so a layer built in memory and the same layer loaded (always row-major)
// run the same BLAS calls on the same bytes.
at::Tensor row_major(const at::Tensor& t);

// Weights and factors are held in their storage dtype (a bf16 checkpoint's weights stay bf16, memory-mapped: DESIGN.md
// "Scale") and computed in float32 (float64 tensors, used by references, stay float64). compute_tensor(t) is t when it
// is float32 or float64, else a float32 copy; as_dtype_of(t, x) is t converted to x's dtype when they differ. A layer
// materialises a float32 copy of one matrix only while it runs.
at::Tensor compute_tensor(const at::Tensor& stored);
at::Tensor as_dtype_of(const at::Tensor& stored, const at::Tensor& x);

// The outputs of layers that all read x, in order: through their SameInputGroup when exactly these layers form one,
// else one forward() each. The forward pass calls it for q|k|v and gate|up.
std::vector<at::Tensor> forward_same_input(const std::vector<const Linear*>& layers, const at::Tensor& x);

class DenseLinear : public Linear {
 public:
  // weight_out_in: [out, in], any floating dtype (kept as given); bias: [out] or undefined.
  explicit DenseLinear(at::Tensor weight_out_in, at::Tensor bias = at::Tensor());
  at::Tensor forward(const at::Tensor& x) const override;
  at::Tensor dense() const override { return compute_tensor(weight_out_in_); }
  ParamCount params() const override;
  std::string format() const override { return "dense"; }
  int64_t in_features() const override;
  int64_t out_features() const override;
  const at::Tensor& weight() const { return weight_out_in_; }  // at its storage dtype
  const at::Tensor& bias() const override { return bias_; }

 private:
  at::Tensor weight_out_in_;
  at::Tensor bias_;
};

// A layer already written to disk and dropped from memory by streaming work (compress writes each block as it
// finishes): keeps its shape, format name and counts for the run's accounting; forward() and dense() throw.
class ReleasedLinear : public Linear {
 public:
  ReleasedLinear(const Linear& written, int64_t bytes_on_disk);
  at::Tensor forward(const at::Tensor& x) const override;
  at::Tensor dense() const override;
  ParamCount params() const override { return params_; }
  std::string format() const override { return format_; }
  const at::Tensor& bias() const override { return bias_; }
  int64_t in_features() const override { return in_; }
  int64_t out_features() const override { return out_; }

 private:
  ParamCount params_;
  std::string format_;
  at::Tensor bias_;  // undefined: the bias went to disk with the layer
  int64_t in_ = 0, out_ = 0;
};

}  // namespace lmshrink
