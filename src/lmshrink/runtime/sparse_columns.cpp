// SparseColumns (see sparse_columns.h): the column-sparse gather-multiply of DictSparse layers for decode, and the
// densified product for prefill.
#include "lmshrink/runtime/sparse_columns.h"

#include "lmshrink/runtime/simd.h"
#include "lmshrink/runtime/thread_pool.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

using simd::to_float;

// Σ_i value[i] · z[index[i]] with eight partial sums.
template <typename Index, typename Value>
float gather_dot_portable(const Value* values, const Index* indices, const float* z, int64_t s) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= s; i += 8) {
    for (int lane = 0; lane < 8; ++lane) partial[lane] += to_float(values[i + lane]) * z[indices[i + lane]];
  }
  float sum = ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
  for (; i < s; ++i) sum += to_float(values[i]) * z[indices[i]];
  return sum;
}

#if defined(__x86_64__)
// Eight scalar loads of z assembled into a vector per step: faster than the AVX2 gather instruction on the AMD
// cores measured (docs/results.md, "Inference kernels").
template <typename Index>
__attribute__((target("avx2,fma"))) inline __m256 gather8(const float* z, const Index* indices) {
  return _mm256_setr_ps(z[indices[0]], z[indices[1]], z[indices[2]], z[indices[3]], z[indices[4]], z[indices[5]],
                        z[indices[6]], z[indices[7]]);
}

template <typename Index, typename Value>
__attribute__((target("avx2,fma"))) float gather_dot_avx2(const Value* values, const Index* indices, const float* z,
                                                           int64_t s) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= s; i += 16) {
    acc0 = _mm256_fmadd_ps(simd::load8(values + i), gather8(z, indices + i), acc0);
    acc1 = _mm256_fmadd_ps(simd::load8(values + i + 8), gather8(z, indices + i + 8), acc1);
  }
  for (; i + 8 <= s; i += 8) acc0 = _mm256_fmadd_ps(simd::load8(values + i), gather8(z, indices + i), acc0);
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
  parallel_columns(columns, rows_per_task(s), [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      for (int64_t t = 0; t < tokens; ++t) y[t * columns + j] = gather(values + j * s, indices + j * s, z + t * atoms, s);
    }
  });
}

// Prefill: Sᵀ [out, k] densified row by row (column j of S scattered into row j), threaded over columns.
template <typename Index, typename Value>
at::Tensor densify_transposed(const Value* values, const Index* indices, int64_t s, int64_t columns, int64_t atoms) {
  at::Tensor dense_t = torch::empty({columns, atoms}, torch::kFloat32);
  float* out = dense_t.data_ptr<float>();
  parallel_columns(columns, rows_per_task(atoms), [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      float* row = out + j * atoms;
      std::fill(row, row + atoms, 0.0f);
      for (int64_t i = 0; i < s; ++i) row[indices[j * s + i]] = to_float(values[j * s + i]);
    }
  });
  return dense_t;
}

template <typename Index, typename Value>
at::Tensor multiply_typed(const Value* values, const Index* indices, int64_t s, int64_t columns, const at::Tensor& z) {
  int64_t tokens = z.size(0), atoms = z.size(1);
  if (tokens <= kSmallBatch) {
    at::Tensor y = torch::empty({tokens, columns}, z.options());
    gather_columns(values, indices, s, columns, z.data_ptr<float>(), atoms, tokens, y.data_ptr<float>());
    return y;
  }
  return torch::matmul(z, densify_transposed(values, indices, s, columns, atoms).t());
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
