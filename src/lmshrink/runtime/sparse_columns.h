// SparseColumns: the column-sparse coefficient matrix S [k, out] of a DictSparse layer (ALGORITHMS.md §2, §8.7),
// laid out for the gather-multiply y[t, j] = Σ_i z[t, index[j, i]] · value[j, i], z = x D [tokens, k]:
// column j's s values, then its s indices, each contiguous, so a thread walks its columns with sequential reads
// (issue 11). Indices are uint16 when k < 65536, else uint32; values float32 or bfloat16 (accumulated in float32).
//   tokens <= kSmallBatch (decode): per column, s gathered products of z (with AVX2, eight scalar loads of z
//     assembled into one vector, faster than the gather instruction on the cores measured);
//   more tokens (prefill): S is densified for the call (Sᵀ [out, k], threaded over columns) and z S runs on BLAS.
//     Measured on the synthetic 1B model (docs/results.md, "Inference kernels"): a gather-multiply over 64-token
//     tiles ran prefill 6.6x slower than dense on one thread, as its s·out multiply-adds per token cost more than
//     BLAS's k·out; densifying writes k·out floats once per call and then runs at BLAS speed.
// Decode is threaded over output columns; each output is summed by one thread in a fixed order, so the thread count
// never changes the result (BLAS decides its own order in prefill).
#pragma once
#include <ATen/core/Tensor.h>

#include "lmshrink/runtime/packed_matrix.h"

namespace lmshrink {

class SparseColumns {
 public:
  SparseColumns() = default;
  // rows_s_out: int64 [s, out] in [0, atoms); values_s_out: floating [s, out]. Throws on other shapes or indices.
  SparseColumns(const at::Tensor& rows_s_out, const at::Tensor& values_s_out, int64_t atoms, WeightStorage storage);
  int64_t atoms() const { return atoms_; }
  int64_t columns() const { return values_.size(0); }
  int64_t nonzeros() const { return values_.size(1); }  // s per column
  int index_bits() const { return indices_.scalar_type() == torch::kShort ? 16 : 32; }
  WeightStorage storage() const { return storage_; }
  int64_t bytes() const;                                   // values + indices as stored
  at::Tensor multiply(const at::Tensor& z_tokens_k) const;  // float32 contiguous [tokens, k] -> [tokens, out]
  at::Tensor dense() const;                                 // S as float32 [k, out]

 private:
  int64_t atoms_ = 0;
  at::Tensor values_;   // float32 or bfloat16 [out, s]
  at::Tensor indices_;  // int16 (read as uint16) or int32 (read as uint32) [out, s]
  WeightStorage storage_ = WeightStorage::kFloat32;
};

}  // namespace lmshrink
