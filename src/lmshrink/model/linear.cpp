// DenseLinear: the uncompressed Linear, on libtorch's matmul (BLAS on CPU); forward_same_input.
#include "lmshrink/model/linear.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

at::Tensor row_major(const at::Tensor& t) {
  if (!t.defined()) return t;
  int64_t expected = 1;
  bool row_major_strides = true;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    row_major_strides = row_major_strides && t.stride(d) == expected;
    expected *= std::max<int64_t>(t.size(d), 1);
  }
  return row_major_strides ? t : t.clone(at::MemoryFormat::Contiguous);
}

at::Tensor compute_tensor(const at::Tensor& stored) {
  if (!stored.defined()) return stored;
  at::ScalarType type = stored.scalar_type();
  return type == torch::kFloat32 || type == torch::kFloat64 ? stored : stored.to(torch::kFloat32);
}

at::Tensor as_dtype_of(const at::Tensor& stored, const at::Tensor& x) {
  if (!stored.defined() || stored.scalar_type() == x.scalar_type()) return stored;
  return stored.to(x.scalar_type());
}

DenseLinear::DenseLinear(at::Tensor weight_out_in, at::Tensor bias)
    : weight_out_in_(row_major(weight_out_in)), bias_(std::move(bias)) {
  LMSHRINK_CHECK(weight_out_in_.dim() == 2, "dense linear: weight must be 2-D [out, in], got ",
                 weight_out_in_.dim(), "-D");
  LMSHRINK_CHECK(!bias_.defined() || (bias_.dim() == 1 && bias_.size(0) == weight_out_in_.size(0)),
                 "dense linear: bias must be [", weight_out_in_.size(0), "]");
}

at::Tensor DenseLinear::forward(const at::Tensor& x) const {
  return torch::nn::functional::linear(x, as_dtype_of(weight_out_in_, x), as_dtype_of(bias_, x));
}

ParamCount DenseLinear::params() const {
  ParamCount count;
  count.values = weight_out_in_.numel() + (bias_.defined() ? bias_.numel() : 0);
  count.bytes = weight_out_in_.numel() * weight_out_in_.element_size() +
                (bias_.defined() ? bias_.numel() * bias_.element_size() : 0);
  return count;
}

std::vector<at::Tensor> forward_same_input(const std::vector<const Linear*>& layers, const at::Tensor& x) {
  const SameInputGroup* group = layers.empty() ? nullptr : layers.front()->same_input_group();
  bool fused = group != nullptr && group->members() == layers;
  for (const Linear* layer : layers) fused = fused && layer->same_input_group() == group;
  if (fused) return group->forward(x);
  std::vector<at::Tensor> outputs;
  for (const Linear* layer : layers) outputs.push_back(layer->forward(x));
  return outputs;
}

ReleasedLinear::ReleasedLinear(const Linear& written, int64_t bytes_on_disk)
    : params_(written.params()), format_(written.format()), in_(written.in_features()), out_(written.out_features()) {
  params_.bytes = bytes_on_disk;
}

at::Tensor ReleasedLinear::forward(const at::Tensor&) const {
  fail("a ", format_, " layer [", out_, ", ", in_, "] was written to disk and released; load the saved model to run it");
}

at::Tensor ReleasedLinear::dense() const { return forward(at::Tensor()); }

int64_t DenseLinear::in_features() const { return weight_out_in_.size(1); }
int64_t DenseLinear::out_features() const { return weight_out_in_.size(0); }

}  // namespace lmshrink
