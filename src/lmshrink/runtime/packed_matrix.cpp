// PackedMatrix (see packed_matrix.h): the dot-product kernels of batch-1 decode, portable and AVX2+FMA, in float32
// and bfloat16 storage, and the BLAS path of prefill.
#include "lmshrink/runtime/packed_matrix.h"


#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

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

// y [tokens, Σ rows] = x [tokens, cols] times each matrix's Wᵀ, side by side: one weight row read once for all
// tokens; the rows of all the matrices are split over the threads as one range (one dispatch for a fused group).
template <typename Weight>
void small_batch_multiply(const std::vector<const Weight*>& weights, const std::vector<int64_t>& offsets, int64_t cols,
                          const float* x, int64_t tokens, float* y) {
  const DotFn<Weight> dot = pick_dot<Weight>();
  const int64_t rows = offsets.back();
  parallel_columns(rows, rows_per_task(cols), [&](int64_t begin, int64_t end) {
    size_t m = std::upper_bound(offsets.begin(), offsets.end(), begin) - offsets.begin() - 1;  // matrix of row `begin`
    for (int64_t r = begin; r < end; ++r) {
      while (r >= offsets[m + 1]) ++m;
      const Weight* row = weights[m] + (r - offsets[m]) * cols;
      for (int64_t t = 0; t < tokens; ++t) y[t * rows + r] = dot(row, x + t * cols, cols);
    }
  });
}

template <typename Weight>
std::vector<const Weight*> weight_pointers(const std::vector<const at::Tensor*>& data) {
  std::vector<const Weight*> pointers;
  for (const at::Tensor* tensor : data) pointers.push_back(reinterpret_cast<const Weight*>(tensor->data_ptr()));
  return pointers;
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
bool portable_in_environment() {
  const char* kernels = std::getenv("LMSHRINK_KERNELS");
  return kernels != nullptr && std::string(kernels) == "portable";
}
std::atomic<bool> portable_forced{portable_in_environment()};
}  // namespace

void force_portable_kernels(bool portable) { portable_forced = portable; }
bool portable_kernels_forced() { return portable_forced; }
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

at::Tensor PackedMatrix::multiply(const at::Tensor& x_tokens_cols) const {
  return multiply_side_by_side({this}, x_tokens_cols);
}

at::Tensor PackedMatrix::multiply_side_by_side(const std::vector<const PackedMatrix*>& matrices,
                                               const at::Tensor& x_tokens_cols) {
  LMSHRINK_CHECK(!matrices.empty(), "packed matrix: nothing to multiply");
  const PackedMatrix& first = *matrices.front();
  std::vector<int64_t> offsets = {0};
  std::vector<const at::Tensor*> data;
  for (const PackedMatrix* matrix : matrices) {
    LMSHRINK_CHECK(matrix->cols() == first.cols() && matrix->storage() == first.storage(),
                   "packed matrix: matrices multiplied side by side must share cols and storage, got [",
                   matrix->data_.sizes(), "] and [", first.data_.sizes(), "]");
    offsets.push_back(offsets.back() + matrix->rows());
    data.push_back(&matrix->data_);
  }
  const at::Tensor& x = x_tokens_cols;
  LMSHRINK_CHECK(x.dim() == 2 && x.size(1) == first.cols() && x.scalar_type() == torch::kFloat32 && x.is_contiguous() &&
                     x.device().is_cpu(),
                 "packed matrix: input must be contiguous float32 CPU [tokens, ", first.cols(), "], got ", x.sizes());
  int64_t tokens = x.size(0);
  if (tokens > kSmallBatch) {  // BLAS, one product per matrix (a float32 copy of bf16 rows)
    std::vector<at::Tensor> parts;
    for (const at::Tensor* w : data) {
      parts.push_back(torch::matmul(x, (first.storage_ == WeightStorage::kFloat32 ? *w : w->to(torch::kFloat32)).t()));
    }
    return parts.size() == 1 ? parts.front() : torch::cat(parts, 1);
  }
  at::Tensor y = torch::empty({tokens, offsets.back()}, x.options());
  if (first.storage_ == WeightStorage::kFloat32) {
    small_batch_multiply(weight_pointers<float>(data), offsets, first.cols(), x.data_ptr<float>(), tokens,
                         y.data_ptr<float>());
  } else {
    small_batch_multiply(weight_pointers<uint16_t>(data), offsets, first.cols(), x.data_ptr<float>(), tokens,
                         y.data_ptr<float>());
  }
  return y;
}

}  // namespace lmshrink
