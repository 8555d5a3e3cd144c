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
// weights[p][m] is panel p of matrix m; each thread streams its rows of panel 0, then of panel 1, ..., adding each
// panel's dot product to the outputs in panel order.
template <typename Weight>
void small_batch_multiply(const std::vector<std::vector<const Weight*>>& weights, const std::vector<int64_t>& offsets,
                          const std::vector<int64_t>& panel_offsets, const float* x, int64_t tokens, float* y) {
  const DotFn<Weight> dot = pick_dot<Weight>();
  const int64_t rows = offsets.back(), cols = panel_offsets.back();
  parallel_columns(rows, rows_per_task(cols), [&](int64_t begin, int64_t end) {
    for (size_t p = 0; p + 1 < panel_offsets.size(); ++p) {
      const int64_t first_col = panel_offsets[p], width = panel_offsets[p + 1] - first_col;
      size_t m = std::upper_bound(offsets.begin(), offsets.end(), begin) - offsets.begin() - 1;  // matrix of `begin`
      for (int64_t r = begin; r < end; ++r) {
        while (r >= offsets[m + 1]) ++m;
        const Weight* row = weights[p][m] + (r - offsets[m]) * width;
        for (int64_t t = 0; t < tokens; ++t) {
          float sum = dot(row, x + t * cols + first_col, width);
          y[t * rows + r] = p == 0 ? sum : y[t * rows + r] + sum;
        }
      }
    }
  });
}

template <typename Weight>
std::vector<std::vector<const Weight*>> weight_pointers(const std::vector<const std::vector<at::Tensor>*>& panels) {
  std::vector<std::vector<const Weight*>> pointers(panels.front()->size());
  for (const std::vector<at::Tensor>* matrix : panels) {
    for (size_t p = 0; p < matrix->size(); ++p) {
      pointers[p].push_back(reinterpret_cast<const Weight*>((*matrix)[p].data_ptr()));
    }
  }
  return pointers;
}

// Column offsets of the panels of a matrix: as few panels as fit panel_cols, of equal widths rounded up to 32.
std::vector<int64_t> panel_boundaries(int64_t cols, int64_t panel_cols) {
  int64_t count = std::max<int64_t>(1, (cols + panel_cols - 1) / panel_cols);
  int64_t width = (cols + count - 1) / count;
  if (count > 1) width = std::min(panel_cols, (width + 31) / 32 * 32);
  std::vector<int64_t> offsets = {0};
  do {  // at least one panel, so a matrix of zero columns has one empty panel
    offsets.push_back(std::min(cols, offsets.back() + width));
  } while (offsets.back() < cols);
  return offsets;
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

PackedMatrix::PackedMatrix(const at::Tensor& weight_rows_cols, WeightStorage storage, int64_t panel_cols)
    : storage_(storage) {
  LMSHRINK_CHECK(weight_rows_cols.dim() == 2 && weight_rows_cols.is_floating_point() && weight_rows_cols.device().is_cpu(),
                 "packed matrix: expected a floating CPU tensor [rows, cols], got ", weight_rows_cols.sizes());
  LMSHRINK_CHECK(panel_cols >= 1, "packed matrix: panel width must be positive, got ", panel_cols);
  at::ScalarType dtype = storage == WeightStorage::kFloat32 ? torch::kFloat32 : torch::kBFloat16;
  rows_ = weight_rows_cols.size(0);
  panel_offsets_ = panel_boundaries(weight_rows_cols.size(1), panel_cols);
  at::Tensor weight = weight_rows_cols.detach();
  for (size_t p = 0; p + 1 < panel_offsets_.size(); ++p) {
    at::Tensor panel = weight.narrow(1, panel_offsets_[p], panel_offsets_[p + 1] - panel_offsets_[p]);
    panels_.push_back(panel.to(dtype).contiguous());
  }
}

int64_t PackedMatrix::bytes() const {
  int64_t total = 0;
  for (const at::Tensor& panel : panels_) total += panel.numel() * static_cast<int64_t>(panel.element_size());
  return total;
}

at::Tensor PackedMatrix::to_float() const {
  return (panels_.size() == 1 ? panels_.front() : torch::cat(panels_, 1)).to(torch::kFloat32);
}

at::Tensor PackedMatrix::multiply(const at::Tensor& x_tokens_cols) const {
  return multiply_side_by_side({this}, x_tokens_cols);
}

at::Tensor PackedMatrix::product_with_blas(const at::Tensor& x) const {
  at::Tensor y;
  for (size_t p = 0; p < panels_.size(); ++p) {
    const at::Tensor& panel = panels_[p];
    at::Tensor weight_t = (storage_ == WeightStorage::kFloat32 ? panel : panel.to(torch::kFloat32)).t();
    at::Tensor x_panel = panels_.size() == 1 ? x : x.narrow(1, panel_offsets_[p], panel.size(1));
    y = p == 0 ? torch::matmul(x_panel, weight_t) : y.addmm_(x_panel, weight_t);
  }
  return y;
}

at::Tensor PackedMatrix::multiply_side_by_side(const std::vector<const PackedMatrix*>& matrices,
                                               const at::Tensor& x_tokens_cols) {
  LMSHRINK_CHECK(!matrices.empty(), "packed matrix: nothing to multiply");
  const PackedMatrix& first = *matrices.front();
  std::vector<int64_t> offsets = {0};
  std::vector<const std::vector<at::Tensor>*> panels;
  for (const PackedMatrix* matrix : matrices) {
    LMSHRINK_CHECK(matrix->panel_offsets_ == first.panel_offsets_ && matrix->storage() == first.storage(),
                   "packed matrix: matrices multiplied side by side must share cols, panels and storage, got [",
                   matrix->rows(), ", ", matrix->cols(), "] and [", first.rows(), ", ", first.cols(), "]");
    offsets.push_back(offsets.back() + matrix->rows());
    panels.push_back(&matrix->panels_);
  }
  const at::Tensor& x = x_tokens_cols;
  LMSHRINK_CHECK(x.dim() == 2 && x.size(1) == first.cols() && x.scalar_type() == torch::kFloat32 && x.is_contiguous() &&
                     x.device().is_cpu(),
                 "packed matrix: input must be contiguous float32 CPU [tokens, ", first.cols(), "], got ", x.sizes());
  int64_t tokens = x.size(0);
  if (tokens > kSmallBatch) {  // BLAS, one product per matrix (a float32 copy of bf16 panels, one at a time)
    std::vector<at::Tensor> parts;
    for (const PackedMatrix* matrix : matrices) parts.push_back(matrix->product_with_blas(x));
    return parts.size() == 1 ? parts.front() : torch::cat(parts, 1);
  }
  at::Tensor y = torch::empty({tokens, offsets.back()}, x.options());
  if (first.storage_ == WeightStorage::kFloat32) {
    small_batch_multiply(weight_pointers<float>(panels), offsets, first.panel_offsets_, x.data_ptr<float>(), tokens,
                         y.data_ptr<float>());
  } else {
    small_batch_multiply(weight_pointers<uint16_t>(panels), offsets, first.panel_offsets_, x.data_ptr<float>(), tokens,
                         y.data_ptr<float>());
  }
  return y;
}

}  // namespace lmshrink
