// PackedMatrix: a row-major weight matrix [rows, cols] held for fast CPU inference (issue 11), in float32 or
// bfloat16 storage (bf16 halves the bytes read per token; products accumulate in float32). multiply() computes
// y = x Wᵀ for x [tokens, cols]:
//   tokens <= kSmallBatch (decode): a hand-written dot-product kernel that reads every weight row once for all tokens,
//     threaded over rows (each output is summed by one thread in a fixed order, so any thread count gives the same
//     bits); AVX2+FMA when the CPU has it, else portable C++;
//   more tokens (prefill): libtorch's matmul (BLAS), on a float32 copy of the rows when the storage is bf16.
// Matrices wider than a panel (kPanelCols, 4096 columns) are stored as column panels, each [rows, width] contiguous,
// and decode streams panel after panel: the slice of x a panel needs then stays in the L1 cache while the weights
// stream past it. Rows of 8192 columns (x: 32 KiB of float32) read bf16 weights at 16 GB/s on one thread of the
// 2-core AMD EPYC, rows of up to 4096 at 31 GB/s (docs/results.md, issue 22); each output still sums its panels in a
// fixed order, so the thread count never changes the bits.
// The low-rank and sparse-dictionary kernels (fast_linear.h) are built from it; multiply_side_by_side runs the first
// factors of layers that share an input as one product (fused_first_factors.h).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lmshrink {

enum class WeightStorage { kFloat32, kBFloat16 };
WeightStorage parse_weight_storage(const std::string& name);  // "fp32" or "bf16"; throws lmshrink::Error otherwise
std::string weight_storage_name(WeightStorage storage);

constexpr int64_t kSmallBatch = 8;    // at most this many tokens take the dot-product kernel
constexpr int64_t kPanelCols = 4096;  // widest column panel (see above)

class PackedMatrix {
 public:
  PackedMatrix() = default;
  // weight_rows_cols: any floating [rows, cols] tensor on the CPU; bf16 storage rounds to nearest even.
  // panel_cols: the widest column panel (tests pass small ones to cover several panels on small matrices).
  PackedMatrix(const at::Tensor& weight_rows_cols, WeightStorage storage, int64_t panel_cols = kPanelCols);
  int64_t rows() const { return rows_; }
  int64_t cols() const { return panel_offsets_.back(); }
  int64_t panels() const { return static_cast<int64_t>(panels_.size()); }
  WeightStorage storage() const { return storage_; }
  int64_t bytes() const;
  at::Tensor multiply(const at::Tensor& x_tokens_cols) const;  // float32 contiguous [tokens, cols] -> [tokens, rows]
  at::Tensor to_float() const;                                 // the stored values as float32 [rows, cols]
  // [x W_1ᵀ | x W_2ᵀ | ...] [tokens, Σ rows] for matrices of equal cols, panels and storage (fused first factors): in decode
  // one dispatch over all their rows, each row's dot product as multiply() computes it; in prefill one BLAS product
  // each. Nothing is copied: the matrices stay where they are.
  static at::Tensor multiply_side_by_side(const std::vector<const PackedMatrix*>& matrices,
                                          const at::Tensor& x_tokens_cols);

 private:
  at::Tensor product_with_blas(const at::Tensor& x_tokens_cols) const;  // prefill: x Wᵀ panel by panel

  std::vector<at::Tensor> panels_;            // float32 or bfloat16 [rows, width of panel p], each contiguous
  std::vector<int64_t> panel_offsets_ = {0};  // first column of each panel, then cols
  int64_t rows_ = 0;
  WeightStorage storage_ = WeightStorage::kFloat32;
};

// Whether the AVX2+FMA kernels run on this CPU (x86-64 with both flags); the portable ones run otherwise.
bool cpu_has_avx2_fma();
// Tests run both kernel families: force_portable_kernels(true) makes every kernel take the portable path.
// LMSHRINK_KERNELS=portable in the environment forces it from the start (CI's second pass covers that family).
void force_portable_kernels(bool portable);
bool portable_kernels_forced();
bool use_avx2_kernels();  // cpu_has_avx2_fma() and not forced portable

// Rows per parallel_columns chunk (thread_pool.h) so that a chunk holds at least ~32K multiply-adds.
int64_t rows_per_task(int64_t cols);

}  // namespace lmshrink
