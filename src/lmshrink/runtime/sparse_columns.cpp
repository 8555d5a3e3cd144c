// SparseColumns (see sparse_columns.h): the column-sparse gather-multiply of DictSparse layers, for decode
// (gathers of z per column) and prefill (scaled rows of zᵀ per column, 64-token tiles).
#include "lmshrink/runtime/sparse_columns.h"

#include <ATen/Parallel.h>

#include "lmshrink/runtime/simd.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

using simd::to_float;

// Σ_i value[i] · z[index[i]] with four partial sums.
template <typename Index, typename Value>
float gather_dot_portable(const Value* values, const Index* indices, const float* z, int64_t s) {
  float partial[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= s; i += 4) {
    for (int lane = 0; lane < 4; ++lane) partial[lane] += to_float(values[i + lane]) * z[indices[i + lane]];
  }
  float sum = (partial[0] + partial[1]) + (partial[2] + partial[3]);
  for (; i < s; ++i) sum += to_float(values[i]) * z[indices[i]];
  return sum;
}

#if defined(__x86_64__)
template <typename Index, typename Value>
__attribute__((target("avx2,fma"))) float gather_dot_avx2(const Value* values, const Index* indices, const float* z,
                                                           int64_t s) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= s; i += 16) {
    acc0 = _mm256_fmadd_ps(simd::load8(values + i), _mm256_i32gather_ps(z, simd::load_index8(indices + i), 4), acc0);
    acc1 = _mm256_fmadd_ps(simd::load8(values + i + 8), _mm256_i32gather_ps(z, simd::load_index8(indices + i + 8), 4),
                           acc1);
  }
  for (; i + 8 <= s; i += 8) {
    acc0 = _mm256_fmadd_ps(simd::load8(values + i), _mm256_i32gather_ps(z, simd::load_index8(indices + i), 4), acc0);
  }
  float sum = simd::horizontal_sum(_mm256_add_ps(acc0, acc1));
  for (; i < s; ++i) sum += to_float(values[i]) * z[indices[i]];
  return sum;
}
#endif

// Decode: y[t, j] for tokens <= kSmallBatch, threaded over columns j.
template <typename Index, typename Value>
void gather_columns(const Value* values, const Index* indices, int64_t s, int64_t columns, const float* z, int64_t atoms,
                    int64_t tokens, float* y) {
  using GatherFn = float (*)(const Value*, const Index*, const float*, int64_t);
  GatherFn gather = &gather_dot_portable<Index, Value>;
#if defined(__x86_64__)
  if (use_avx2_kernels()) gather = &gather_dot_avx2<Index, Value>;
#endif
  at::parallel_for(0, columns, rows_per_task(s), [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      for (int64_t t = 0; t < tokens; ++t) y[t * columns + j] = gather(values + j * s, indices + j * s, z + t * atoms, s);
    }
  });
}

constexpr int64_t kTile = 64;  // tokens per accumulator tile of the prefill kernel

// Prefill: yᵀ[j, :] = Σ_i value[j, i] · zᵀ[index[j, i], :] for columns [begin, end). The fixed-size loop over a full
// tile keeps the accumulators in vector registers once the caller's target allows it (inlined into each ISA).
template <typename Index, typename Value>
__attribute__((always_inline)) inline void scaled_rows(const Value* values, const Index* indices, int64_t s,
                                                       const float* zt, int64_t tokens, int64_t begin, int64_t end,
                                                       float* yt) {
  for (int64_t j = begin; j < end; ++j) {
    const Value* column_values = values + j * s;
    const Index* column_indices = indices + j * s;
    for (int64_t t0 = 0; t0 < tokens; t0 += kTile) {
      float acc[kTile] = {};
      if (tokens - t0 >= kTile) {
        for (int64_t i = 0; i < s; ++i) {
          const float c = to_float(column_values[i]);
          const float* row = zt + static_cast<int64_t>(column_indices[i]) * tokens + t0;
          for (int64_t u = 0; u < kTile; ++u) acc[u] += c * row[u];
        }
      } else {
        int64_t n = tokens - t0;
        for (int64_t i = 0; i < s; ++i) {
          const float c = to_float(column_values[i]);
          const float* row = zt + static_cast<int64_t>(column_indices[i]) * tokens + t0;
          for (int64_t u = 0; u < n; ++u) acc[u] += c * row[u];
        }
      }
      std::copy(acc, acc + std::min(kTile, tokens - t0), yt + j * tokens + t0);
    }
  }
}

template <typename Index, typename Value>
void scaled_rows_portable(const Value* v, const Index* idx, int64_t s, const float* zt, int64_t tokens, int64_t begin,
                          int64_t end, float* yt) {
  scaled_rows(v, idx, s, zt, tokens, begin, end, yt);
}

#if defined(__x86_64__)
template <typename Index, typename Value>
__attribute__((target("avx2,fma"))) void scaled_rows_avx2(const Value* v, const Index* idx, int64_t s, const float* zt,
                                                          int64_t tokens, int64_t begin, int64_t end, float* yt) {
  scaled_rows(v, idx, s, zt, tokens, begin, end, yt);
}
#endif

template <typename Index, typename Value>
void prefill_columns(const Value* values, const Index* indices, int64_t s, int64_t columns, const float* zt,
                     int64_t tokens, float* yt) {
  using RowsFn = void (*)(const Value*, const Index*, int64_t, const float*, int64_t, int64_t, int64_t, float*);
  RowsFn rows_fn = &scaled_rows_portable<Index, Value>;
#if defined(__x86_64__)
  if (use_avx2_kernels()) rows_fn = &scaled_rows_avx2<Index, Value>;
#endif
  at::parallel_for(0, columns, rows_per_task(s * tokens), [&](int64_t begin, int64_t end) {
    rows_fn(values, indices, s, zt, tokens, begin, end, yt);
  });
}

template <typename Index, typename Value>
at::Tensor multiply_typed(const Value* values, const Index* indices, int64_t s, int64_t columns, const at::Tensor& z) {
  int64_t tokens = z.size(0), atoms = z.size(1);
  if (tokens <= kSmallBatch) {
    at::Tensor y = torch::empty({tokens, columns}, z.options());
    gather_columns(values, indices, s, columns, z.data_ptr<float>(), atoms, tokens, y.data_ptr<float>());
    return y;
  }
  at::Tensor zt = z.t().contiguous();
  at::Tensor yt = torch::empty({columns, tokens}, z.options());
  prefill_columns(values, indices, s, columns, zt.data_ptr<float>(), tokens, yt.data_ptr<float>());
  return yt.t().contiguous();
}

template <typename Index>
at::Tensor multiply_values(const at::Tensor& values, const Index* indices, const at::Tensor& z) {
  int64_t columns = values.size(0), s = values.size(1);
  if (values.scalar_type() == torch::kFloat32) {
    return multiply_typed(values.data_ptr<float>(), indices, s, columns, z);
  }
  return multiply_typed(reinterpret_cast<const uint16_t*>(values.data_ptr()), indices, s, columns, z);
}

}  // namespace

SparseColumns::SparseColumns(const at::Tensor& rows_s_out, const at::Tensor& values_s_out, int64_t atoms,
                             WeightStorage storage)
    : atoms_(atoms), storage_(storage) {
  LMSHRINK_CHECK(rows_s_out.dim() == 2 && rows_s_out.sizes() == values_s_out.sizes() && rows_s_out.size(0) >= 1,
                 "sparse columns: rows and values must both be [s, out] with s >= 1, got ", rows_s_out.sizes(), " and ",
                 values_s_out.sizes());
  LMSHRINK_CHECK(atoms > 0 && atoms <= (int64_t{1} << 31), "sparse columns: k = ", atoms, " atoms is out of range");
  at::Tensor rows = rows_s_out.to(torch::kLong).t().contiguous();
  LMSHRINK_CHECK(rows.numel() == 0 || (rows.min().item<int64_t>() >= 0 && rows.max().item<int64_t>() < atoms),
                 "sparse columns: row indices must lie in [0, ", atoms, ")");
  if (atoms < 65536) {  // uint16 bits in an int16 tensor
    indices_ = torch::where(rows >= 32768, rows - 65536, rows).to(torch::kShort);
  } else {
    indices_ = rows.to(torch::kInt);
  }
  at::ScalarType dtype = storage == WeightStorage::kFloat32 ? torch::kFloat32 : torch::kBFloat16;
  values_ = values_s_out.detach().t().to(dtype).contiguous();
}

int64_t SparseColumns::bytes() const {
  return values_.numel() * static_cast<int64_t>(values_.element_size()) +
         indices_.numel() * static_cast<int64_t>(indices_.element_size());
}

at::Tensor SparseColumns::multiply(const at::Tensor& z_tokens_k) const {
  const at::Tensor& z = z_tokens_k;
  LMSHRINK_CHECK(z.dim() == 2 && z.size(1) == atoms_ && z.scalar_type() == torch::kFloat32 && z.is_contiguous() &&
                     z.device().is_cpu(),
                 "sparse columns: input must be contiguous float32 CPU [tokens, ", atoms_, "], got ", z.sizes());
  if (index_bits() == 16) {
    return multiply_values(values_, reinterpret_cast<const uint16_t*>(indices_.data_ptr()), z);
  }
  return multiply_values(values_, reinterpret_cast<const uint32_t*>(indices_.data_ptr()), z);
}

at::Tensor SparseColumns::dense() const {
  at::Tensor rows = indices_.to(torch::kLong);
  if (index_bits() == 16) rows = rows.bitwise_and(65535);
  return torch::zeros({atoms_, columns()}, torch::kFloat32).scatter_(0, rows.t(), values_.to(torch::kFloat32).t());
}

}  // namespace lmshrink
