// DictSparseLinear (see dict_sparse.h): x D once, then per nonzero slot t a gather of the used atoms' outputs.
#include "lmshrink/model/dict_sparse.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

int64_t Factor::storage_bytes() const {
  return quantized ? quantized->storage_bytes() : value.numel() * static_cast<int64_t>(value.element_size());
}

Factor float_factor(at::Tensor value) { return Factor{row_major(value.to(torch::kFloat32)), std::nullopt}; }

Factor stored_factor(at::Tensor value) {
  at::ScalarType type = value.scalar_type();
  if (type == torch::kBFloat16 || type == torch::kFloat16) return Factor{row_major(value), std::nullopt};
  return float_factor(std::move(value));
}

Factor quantized_factor(const at::Tensor& value, int bits, int64_t group_size) {
  QuantizedTensor q = quantize_rtn(value, bits, group_size);
  at::Tensor dequantized = q.dequantize();
  return Factor{dequantized, std::move(q)};
}

std::pair<at::Tensor, at::Tensor> sorted_support(const at::Tensor& rows_s_out, const at::Tensor& values_s_out, int64_t k) {
  LMSHRINK_CHECK(rows_s_out.dim() == 2 && rows_s_out.sizes() == values_s_out.sizes(),
                 "dict-sparse: rows and values must both be [s, out], got ", rows_s_out.sizes(), " and ", values_s_out.sizes());
  at::Tensor rows = rows_s_out.to(torch::kLong);
  auto [sorted_rows, order] = rows.sort(0);
  at::Tensor values = values_s_out.gather(0, order);
  LMSHRINK_CHECK(rows.numel() == 0 || (sorted_rows.min().item<int64_t>() >= 0 && sorted_rows.max().item<int64_t>() < k),
                 "dict-sparse: row indices must lie in [0, ", k, ")");
  if (rows.size(0) > 1) {
    bool distinct = (sorted_rows.narrow(0, 1, rows.size(0) - 1) > sorted_rows.narrow(0, 0, rows.size(0) - 1)).all().item<bool>();
    LMSHRINK_CHECK(distinct, "dict-sparse: a column uses the same atom twice");
  }
  return {sorted_rows.contiguous(), values.contiguous()};
}

DictSparseLinear::DictSparseLinear(Factor dictionary_in_k, at::Tensor rows_s_out, Factor values_s_out, at::Tensor bias,
                                   std::string dictionary_owner)
    : dictionary_(std::move(dictionary_in_k)), rows_(std::move(rows_s_out)), values_(std::move(values_s_out)),
      bias_(std::move(bias)), dictionary_owner_(std::move(dictionary_owner)) {
  const at::Tensor& d = dictionary_.value;
  LMSHRINK_CHECK(d.dim() == 2 && d.size(1) > 0, "dict-sparse: dictionary must be [in, k], got ", d.sizes());
  LMSHRINK_CHECK(rows_.dim() == 2 && rows_.scalar_type() == torch::kLong && rows_.size(0) >= 1,
                 "dict-sparse: rows must be int64 [s, out] with s >= 1, got ", rows_.sizes());
  LMSHRINK_CHECK(values_.value.sizes() == rows_.sizes(), "dict-sparse: values ", values_.value.sizes(),
                 " must match rows ", rows_.sizes());
  LMSHRINK_CHECK(rows_.size(0) <= d.size(1), "dict-sparse: s = ", rows_.size(0), " nonzeros per column exceed k = ",
                 d.size(1), " atoms");
  auto [sorted_rows, sorted_values] = sorted_support(rows_, values_.value, d.size(1));
  LMSHRINK_CHECK(sorted_rows.equal(rows_), "dict-sparse: rows must be ascending in every column (use sorted_support)");
  LMSHRINK_CHECK(!bias_.defined() || (bias_.dim() == 1 && bias_.size(0) == rows_.size(1)),
                 "dict-sparse: bias must be [", rows_.size(1), "]");
}

at::Tensor DictSparseLinear::forward(const at::Tensor& x) const {
  at::Tensor atoms_out = torch::matmul(x, as_dtype_of(dictionary_.value, x));  // [..., k]
  at::Tensor values = as_dtype_of(values_.value, x);
  at::Tensor flat = atoms_out.reshape({-1, atoms()});           // [tokens, k]
  at::Tensor y = torch::zeros({flat.size(0), out_features()}, flat.options());
  for (int64_t slot = 0; slot < nonzeros(); ++slot) {  // y[:, j] += z[:, rows[slot, j]] * values[slot, j]
    y.addcmul_(flat.index_select(1, rows_[slot]), values[slot].unsqueeze(0));
  }
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = out_features();
  y = y.reshape(shape);
  return bias_.defined() ? y + as_dtype_of(bias_, x) : y;
}

at::Tensor DictSparseLinear::coefficients_dense() const {
  at::Tensor values = compute_tensor(values_.value);
  at::Tensor s = torch::zeros({atoms(), out_features()}, values.options());
  return s.scatter_(0, rows_, values);
}

at::Tensor DictSparseLinear::dense() const {
  return torch::matmul(compute_tensor(dictionary_.value), coefficients_dense()).t().contiguous();
}

std::string DictSparseLinear::index_format() const {
  int64_t mask_bytes = out_features() * ((atoms() + 7) / 8);
  int64_t row_bytes = atoms() < 65536 ? 2 * rows_.numel() : 4 * rows_.numel();
  return mask_bytes <= row_bytes ? "bitmask" : "rows";
}

int64_t DictSparseLinear::index_bytes() const {
  if (index_format() == "bitmask") return out_features() * ((atoms() + 7) / 8);
  return (atoms() < 65536 ? 2 : 4) * rows_.numel();
}

ParamCount DictSparseLinear::params() const {
  ParamCount count;
  int64_t bias_values = bias_.defined() ? bias_.numel() : 0;
  count.values = (owns_dictionary() ? dictionary_.value.numel() : 0) + values_.value.numel() + bias_values;
  count.index_bytes = index_bytes();
  count.bytes = (owns_dictionary() ? dictionary_.storage_bytes() : 0) + values_.storage_bytes() + count.index_bytes +
                bias_values * (bias_.defined() ? static_cast<int64_t>(bias_.element_size()) : 0);
  return count;
}

at::Tensor support_bitmask(const at::Tensor& rows_s_out, int64_t k) {
  int64_t out = rows_s_out.size(1), row_bytes = (k + 7) / 8;
  at::Tensor mask = torch::zeros({out, row_bytes}, torch::kByte);
  at::Tensor rows = rows_s_out.to(torch::kLong).contiguous();
  auto rows_a = rows.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<uint8_t, 2>();
  for (int64_t slot = 0; slot < rows.size(0); ++slot) {
    for (int64_t j = 0; j < out; ++j) {
      int64_t r = rows_a[slot][j];
      mask_a[j][r / 8] = static_cast<uint8_t>(mask_a[j][r / 8] | (1u << (r % 8)));
    }
  }
  return mask;
}

at::Tensor support_from_bitmask(const at::Tensor& mask_out_bytes, int64_t k, int64_t s, const std::string& what) {
  int64_t row_bytes = (k + 7) / 8;
  LMSHRINK_CHECK(mask_out_bytes.dim() == 2 && mask_out_bytes.size(1) == row_bytes && mask_out_bytes.scalar_type() == torch::kByte,
                 what, ": bitmask must be uint8 [out, ", row_bytes, "]");
  int64_t out = mask_out_bytes.size(0);
  at::Tensor mask = mask_out_bytes.contiguous();
  auto mask_a = mask.accessor<uint8_t, 2>();
  at::Tensor rows = torch::empty({s, out}, torch::kLong);
  auto rows_a = rows.accessor<int64_t, 2>();
  for (int64_t j = 0; j < out; ++j) {
    int64_t used = 0;
    for (int64_t r = 0; r < row_bytes * 8; ++r) {
      if (!(mask_a[j][r / 8] & (1u << (r % 8)))) continue;
      LMSHRINK_CHECK(r < k && used < s, what, ": column ", j, " of the bitmask sets more than s = ", s,
                     " bits or a bit beyond k = ", k);
      rows_a[used++][j] = r;
    }
    LMSHRINK_CHECK(used == s, what, ": column ", j, " of the bitmask sets ", used, " bits, expected s = ", s);
  }
  return rows;
}

}  // namespace lmshrink
