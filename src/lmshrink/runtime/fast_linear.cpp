// Kernel-backed Linear layers (see fast_linear.h).
#include "lmshrink/runtime/fast_linear.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

at::Tensor float_bias(const at::Tensor& bias) {
  return bias.defined() ? bias.detach().to(torch::kFloat32).contiguous() : at::Tensor();
}

// Values and bytes of a kernel layer: `values` stored numbers, `bytes` as packed (bias included by the caller).
ParamCount kernel_params(int64_t values, int64_t index_bytes, int64_t bytes) {
  ParamCount count;
  count.values = values;
  count.index_bytes = index_bytes;
  count.bytes = bytes;
  return count;
}

}  // namespace

at::Tensor KernelLinear::run(const at::Tensor& x, int64_t in_features,
                             const std::function<at::Tensor(const at::Tensor&)>& multiply) const {
  LMSHRINK_CHECK(x.size(-1) == in_features, format(), " kernel: input has ", x.size(-1), " features, expected ",
                 in_features);
  at::Tensor flat = x.reshape({-1, in_features}).to(torch::kFloat32).contiguous();
  at::Tensor y = multiply(flat);
  if (bias_.defined()) y.add_(bias_);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = y.size(1);
  return y.view(shape).to(x.scalar_type());
}

FastDenseLinear::FastDenseLinear(const at::Tensor& weight_out_in, at::Tensor bias, WeightStorage storage)
    : KernelLinear(float_bias(bias)), weight_(weight_out_in, storage) {}

at::Tensor FastDenseLinear::forward(const at::Tensor& x) const {
  return run(x, in_features(), [&](const at::Tensor& flat) { return weight_.multiply(flat); });
}

ParamCount FastDenseLinear::params() const {
  int64_t bias_values = bias_.defined() ? bias_.numel() : 0;
  return kernel_params(weight_.rows() * weight_.cols() + bias_values, 0, bytes_read_per_token());
}

FastLowRankLinear::FastLowRankLinear(const at::Tensor& a_in_rank, const at::Tensor& b_rank_out, at::Tensor bias,
                                     WeightStorage storage)
    : KernelLinear(float_bias(bias)), a_t_(a_in_rank.t(), storage), b_t_(b_rank_out.t(), storage) {
  LMSHRINK_CHECK(a_t_.rows() == b_t_.cols(), "low-rank kernel: factors [", a_in_rank.sizes(), "] and [",
                 b_rank_out.sizes(), "] do not chain");
}

at::Tensor FastLowRankLinear::forward(const at::Tensor& x) const {
  return run(x, in_features(), [&](const at::Tensor& flat) { return b_t_.multiply(a_t_.multiply(flat)); });
}

at::Tensor FastLowRankLinear::dense() const { return torch::matmul(b_t_.to_float(), a_t_.to_float()); }

ParamCount FastLowRankLinear::params() const {
  int64_t bias_values = bias_.defined() ? bias_.numel() : 0;
  return kernel_params(a_t_.rows() * a_t_.cols() + b_t_.rows() * b_t_.cols() + bias_values, 0, bytes_read_per_token());
}

FastDictSparseLinear::FastDictSparseLinear(std::shared_ptr<const PackedMatrix> dictionary_t, SparseColumns coefficients,
                                           at::Tensor bias)
    : KernelLinear(float_bias(bias)), dictionary_t_(std::move(dictionary_t)), coefficients_(std::move(coefficients)) {
  LMSHRINK_CHECK(dictionary_t_ && dictionary_t_->rows() == coefficients_.atoms(), "dict-sparse kernel: the dictionary has ",
                 dictionary_t_ ? dictionary_t_->rows() : 0, " atoms, the coefficients index ", coefficients_.atoms());
}

at::Tensor FastDictSparseLinear::forward(const at::Tensor& x) const {
  return run(x, in_features(), [&](const at::Tensor& flat) { return coefficients_.multiply(dictionary_t_->multiply(flat)); });
}

at::Tensor FastDictSparseLinear::dense() const {
  return torch::matmul(coefficients_.dense().t(), dictionary_t_->to_float());  // (D S)ᵀ = Sᵀ Dᵀ
}

ParamCount FastDictSparseLinear::params() const {
  int64_t bias_values = bias_.defined() ? bias_.numel() : 0;
  int64_t index_bytes = coefficients_.columns() * coefficients_.nonzeros() * coefficients_.index_bits() / 8;
  int64_t values = dictionary_t_->rows() * dictionary_t_->cols() + coefficients_.columns() * coefficients_.nonzeros();
  return kernel_params(values + bias_values, index_bytes, bytes_read_per_token());
}

}  // namespace lmshrink
