// DictSparseLinear: y = (x D) S (+ b) with a dense dictionary D [in, k] and a coefficient matrix S [k, out] that has
// exactly s nonzeros in every output column — the layer CoSpaDi (ALGORITHMS.md §2), COMPOT (§4) and ROCKET (§3)
// produce (§8.7 SparseDict). S is held as its support `rows` [s, out] (ascending row index per column) and `values`
// [s, out]; the forward pass gathers the s used entries of x D per output column and never densifies S.
// Both factors may be RTN-quantized (quantized_tensor.h); the float32 tensors are then their dequantized values.
// Index storage: a packed bitmask (k bits per column) or uint16 row indices (16 bits per nonzero), whichever is
// smaller (ALGORITHMS.md §2 A.5). A layer of a shared-dictionary group (CoSpaDi --groups) may leave the dictionary
// to its group's first layer: then it neither counts nor stores it.
#pragma once
#include <optional>
#include <string>

#include "lmshrink/model/linear.h"
#include "lmshrink/model/quantized_tensor.h"

namespace lmshrink {

// A factor tensor: float values (float32, or bf16/f16 as stored in a checkpoint: computed in float32, linear.h), and
// the quantized form they were dequantized from, if any.
struct Factor {
  at::Tensor value;
  std::optional<QuantizedTensor> quantized;
  int64_t storage_bytes() const;  // packed codes + scales, or the values at their dtype
};
Factor float_factor(at::Tensor value);                                   // float32, contiguous
Factor stored_factor(at::Tensor value);  // bf16 and f16 kept as they are, any other dtype as float_factor
Factor quantized_factor(const at::Tensor& value, int bits, int64_t group_size);  // RTN (quantize_rtn)

// Sorts each column's support ascending (values follow) and checks it: rows int64 [s, out] in [0, k), distinct
// within a column. Returns {rows, values}.
std::pair<at::Tensor, at::Tensor> sorted_support(const at::Tensor& rows_s_out, const at::Tensor& values_s_out, int64_t k);

class DictSparseLinear : public Linear {
 public:
  // dictionary [in, k]; rows int64 [s, out], ascending per column (sorted_support); values [s, out]; bias [out] or
  // undefined. dictionary_owner: "" when this layer stores and counts the dictionary, else the owning layer's name.
  DictSparseLinear(Factor dictionary_in_k, at::Tensor rows_s_out, Factor values_s_out, at::Tensor bias = at::Tensor(),
                   std::string dictionary_owner = "");
  at::Tensor forward(const at::Tensor& x) const override;
  at::Tensor dense() const override;  // (D S)ᵀ [out, in]
  ParamCount params() const override;
  std::string format() const override { return "dictsparse"; }
  int64_t in_features() const override { return dictionary_.value.size(0); }
  int64_t out_features() const override { return rows_.size(1); }
  const at::Tensor& bias() const override { return bias_; }

  int64_t atoms() const { return dictionary_.value.size(1); }  // k
  int64_t nonzeros() const { return rows_.size(0); }           // s, per output column
  const Factor& dictionary() const { return dictionary_; }
  const Factor& values() const { return values_; }
  const at::Tensor& rows() const { return rows_; }
  const std::string& dictionary_owner() const { return dictionary_owner_; }
  bool owns_dictionary() const { return dictionary_owner_.empty(); }
  std::string index_format() const;  // "bitmask" or "rows", the smaller
  int64_t index_bytes() const;
  at::Tensor coefficients_dense() const;  // S [k, out] float32, for tests and export

 private:
  Factor dictionary_;
  at::Tensor rows_;  // int64 [s, out]
  Factor values_;
  at::Tensor bias_;
  std::string dictionary_owner_;
};

// The packed bitmask of a support: uint8 [out, ceil(k / 8)], bit (r mod 8) (LSB first) of byte r / 8 in column j's
// row set when row r is used; and its inverse, which checks that every column has exactly s bits set.
at::Tensor support_bitmask(const at::Tensor& rows_s_out, int64_t k);
at::Tensor support_from_bitmask(const at::Tensor& mask_out_bytes, int64_t k, int64_t s, const std::string& what);

}  // namespace lmshrink
