// PackedMatrix (see packed_matrix.h): the dot-product kernels of batch-1 decode, portable and AVX2+FMA, in float32
// and bfloat16 storage, and the BLAS path of prefill.
#include "lmshrink/runtime/packed_matrix.h"


#include <atomic>

#include "lmshrink/runtime/simd.h"
#include "lmshrink/runtime/thread_pool.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

using simd::to_float;
// Portable dot products: eight partial sums in a fixed order, then the tail.
template <typename Weight>
float dot_portable(const Weight* w, const float* x, int64_t n) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int lane = 0; lane < 8; ++lane) {
      partial[lane] += to_float(w[i + lane]) * x[i + lane];
    }
  }
  float sum = 0.0f;
  for (float p : partial) sum += p;
  for (; i < n; ++i) {
    sum += to_float(w[i]) * x[i];
  }
  return sum;
}

#if defined(__x86_64__)
// Four 8-wide accumulators over 32 values per step, then 8 at a time, then the scalar tail.
template <typename Weight>
__attribute__((target("avx2,fma"))) float dot_avx2(const Weight* w, const float* x, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(simd::load8(w + i), _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(simd::load8(w + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(simd::load8(w + i + 16), _mm256_loadu_ps(x + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(simd::load8(w + i + 24), _mm256_loadu_ps(x + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(simd::load8(w + i), _mm256_loadu_ps(x + i), acc0);
  float sum = simd::horizontal_sum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) {
    sum += to_float(w[i]) * x[i];
  }
  return sum;
}
#endif

template <typename Weight>
using DotFn = float (*)(const Weight*, const float*, int64_t);

template <typename Weight>
DotFn<Weight> pick_dot() {
#if defined(__x86_64__)
  if (use_avx2_kernels()) return &dot_avx2<Weight>;
#endif
  return &dot_portable<Weight>;
}

// y [tokens, rows] = x [tokens, cols] Wᵀ, one weight row read once for all tokens; threaded over rows.
template <typename Weight>
void small_batch_multiply(const Weight* w, int64_t rows, int64_t cols, const float* x, int64_t tokens, float* y) {
  const DotFn<Weight> dot = pick_dot<Weight>();
  parallel_columns(rows, rows_per_task(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t t = 0; t < tokens; ++t) y[t * rows + r] = dot(w + r * cols, x + t * cols, cols);
    }
  });
}

}  // namespace

bool cpu_has_avx2_fma() {
#if defined(__x86_64__)
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

namespace {
std::atomic<bool> portable_forced{false};
}  // namespace

void force_portable_kernels(bool portable) { portable_forced = portable; }
bool use_avx2_kernels() { return cpu_has_avx2_fma() && !portable_forced; }

int64_t rows_per_task(int64_t cols) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, cols)); }

WeightStorage parse_weight_storage(const std::string& name) {
  if (name == "fp32") return WeightStorage::kFloat32;
  if (name == "bf16") return WeightStorage::kBFloat16;
  fail("unknown weight storage '", name, "' (expected fp32 or bf16)");
}

std::string weight_storage_name(WeightStorage storage) {
  return storage == WeightStorage::kFloat32 ? "fp32" : "bf16";
}

PackedMatrix::PackedMatrix(const at::Tensor& weight_rows_cols, WeightStorage storage) : storage_(storage) {
  LMSHRINK_CHECK(weight_rows_cols.dim() == 2 && weight_rows_cols.is_floating_point() && weight_rows_cols.device().is_cpu(),
                 "packed matrix: expected a floating CPU tensor [rows, cols], got ", weight_rows_cols.sizes());
  at::ScalarType dtype = storage == WeightStorage::kFloat32 ? torch::kFloat32 : torch::kBFloat16;
  data_ = weight_rows_cols.detach().to(dtype).contiguous();
}

at::Tensor PackedMatrix::to_float() const { return data_.to(torch::kFloat32); }

PackedMatrix PackedMatrix::stack_rows(const std::vector<const PackedMatrix*>& parts) {
  LMSHRINK_CHECK(!parts.empty(), "packed matrix: nothing to stack");
  std::vector<at::Tensor> rows;
  for (const PackedMatrix* part : parts) {
    LMSHRINK_CHECK(part->cols() == parts.front()->cols() && part->storage() == parts.front()->storage(),
                   "packed matrix: stacked matrices must share cols and storage, got [", part->data_.sizes(), "] and [",
                   parts.front()->data_.sizes(), "]");
    rows.push_back(part->data_);
  }
  PackedMatrix stacked;
  stacked.data_ = torch::cat(rows, 0);
  stacked.storage_ = parts.front()->storage();
  return stacked;
}

PackedMatrix PackedMatrix::rows_view(int64_t begin, int64_t count) const {
  LMSHRINK_CHECK(begin >= 0 && count >= 0 && begin + count <= rows(), "packed matrix: rows [", begin, ", ",
                 begin + count, ") outside [0, ", rows(), ")");
  PackedMatrix view;
  view.data_ = data_.narrow(0, begin, count);  // whole rows of a row-major matrix: still contiguous
  view.storage_ = storage_;
  return view;
}

at::Tensor PackedMatrix::multiply(const at::Tensor& x_tokens_cols) const {
  const at::Tensor& x = x_tokens_cols;
  LMSHRINK_CHECK(x.dim() == 2 && x.size(1) == cols() && x.scalar_type() == torch::kFloat32 && x.is_contiguous() &&
                     x.device().is_cpu(),
                 "packed matrix: input must be contiguous float32 CPU [tokens, ", cols(), "], got ", x.sizes());
  int64_t tokens = x.size(0);
  if (tokens > kSmallBatch) {
    return torch::matmul(x, (storage_ == WeightStorage::kFloat32 ? data_ : data_.to(torch::kFloat32)).t());
  }
  at::Tensor y = torch::empty({tokens, rows()}, x.options());
  if (storage_ == WeightStorage::kFloat32) {
    small_batch_multiply(data_.data_ptr<float>(), rows(), cols(), x.data_ptr<float>(), tokens, y.data_ptr<float>());
  } else {
    small_batch_multiply(reinterpret_cast<const uint16_t*>(data_.data_ptr()), rows(), cols(), x.data_ptr<float>(), tokens,
                         y.data_ptr<float>());
  }
  return y;
}

}  // namespace lmshrink
