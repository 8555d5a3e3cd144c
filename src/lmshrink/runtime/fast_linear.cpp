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

KernelLinear::KernelLinear(std::shared_ptr<const PackedMatrix> first, at::Tensor bias)
    : first_(std::move(first)), bias_(float_bias(bias)) {
  LMSHRINK_CHECK(first_ != nullptr, "kernel layer: no first factor");
}

at::Tensor kernel_input(const at::Tensor& x, int64_t in_features, const std::string& format) {
  LMSHRINK_CHECK(x.size(-1) == in_features, format, " kernel: input has ", x.size(-1), " features, expected ",
                 in_features);
  return x.reshape({-1, in_features}).to(torch::kFloat32).contiguous();
}

at::Tensor kernel_output(const at::Tensor& y_tokens_out, const at::Tensor& x) {
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = y_tokens_out.size(1);
  return y_tokens_out.view(shape).to(x.scalar_type());
}

at::Tensor KernelLinear::forward(const at::Tensor& x) const {
  return kernel_output(finish(first_->multiply(kernel_input(x, in_features(), format()))), x);
}

FastDenseLinear::FastDenseLinear(const at::Tensor& weight_out_in, at::Tensor bias, WeightStorage storage)
    : KernelLinear(std::make_shared<const PackedMatrix>(weight_out_in, storage), std::move(bias)) {}

at::Tensor FastDenseLinear::finish(const at::Tensor& first_product) const {
  return bias_.defined() ? first_product + bias_ : first_product;
}

ParamCount FastDenseLinear::params() const {
  int64_t bias_values = bias_.defined() ? bias_.numel() : 0;
  return kernel_params(first_->rows() * first_->cols() + bias_values, 0, bytes_read_per_token());
}

FastLowRankLinear::FastLowRankLinear(const at::Tensor& a_in_rank, const at::Tensor& b_rank_out, at::Tensor bias,
                                     WeightStorage storage)
    : KernelLinear(std::make_shared<const PackedMatrix>(a_in_rank.t(), storage), std::move(bias)),
      b_t_(b_rank_out.t(), storage) {
  LMSHRINK_CHECK(first_->rows() == b_t_.cols(), "low-rank kernel: factors [", a_in_rank.sizes(), "] and [",
                 b_rank_out.sizes(), "] do not chain");
}

at::Tensor FastLowRankLinear::finish(const at::Tensor& first_product) const {
  return add_bias(b_t_.multiply(first_product));
}

at::Tensor FastLowRankLinear::dense() const { return torch::matmul(b_t_.to_float(), first_->to_float()); }

ParamCount FastLowRankLinear::params() const {
  int64_t bias_values = bias_.defined() ? bias_.numel() : 0;
  return kernel_params(first_->rows() * first_->cols() + b_t_.rows() * b_t_.cols() + bias_values, 0,
                       bytes_read_per_token());
}

FastDictSparseLinear::FastDictSparseLinear(std::shared_ptr<const PackedMatrix> dictionary_t, SparseColumns coefficients,
                                           at::Tensor bias)
    : KernelLinear(std::move(dictionary_t), std::move(bias)), coefficients_(std::move(coefficients)) {
  LMSHRINK_CHECK(first_->rows() == coefficients_.atoms(), "dict-sparse kernel: the dictionary has ", first_->rows(),
                 " atoms, the coefficients index ", coefficients_.atoms());
}

at::Tensor FastDictSparseLinear::finish(const at::Tensor& first_product) const {
  return add_bias(coefficients_.multiply(first_product));
}

at::Tensor FastDictSparseLinear::dense() const {
  return torch::matmul(coefficients_.dense().t(), first_->to_float());  // (D S)ᵀ = Sᵀ Dᵀ
}

ParamCount FastDictSparseLinear::params() const {
  int64_t bias_values = bias_.defined() ? bias_.numel() : 0;
  int64_t index_bytes = coefficients_.columns() * coefficients_.nonzeros() * coefficients_.index_bits() / 8;
  int64_t values = first_->rows() * first_->cols() + coefficients_.columns() * coefficients_.nonzeros();
  return kernel_params(values + bias_values, index_bytes, bytes_read_per_token());
}

}  // namespace lmshrink
