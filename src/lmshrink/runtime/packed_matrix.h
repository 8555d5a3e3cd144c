// PackedMatrix: a row-major weight matrix [rows, cols] held for fast CPU inference (issue 11), in float32 or
// bfloat16 storage (bf16 halves the bytes read per token; products accumulate in float32). multiply() computes
// y = x Wᵀ for x [tokens, cols]:
//   tokens <= kSmallBatch (decode): a hand-written dot-product kernel that reads every weight row once for all tokens,
//     threaded over rows (each output is summed by one thread in a fixed order, so any thread count gives the same
//     bits); AVX2+FMA when the CPU has it, else portable C++;
//   more tokens (prefill): libtorch's matmul (BLAS), on a float32 copy of the rows when the storage is bf16.
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

constexpr int64_t kSmallBatch = 8;  // at most this many tokens take the dot-product kernel

class PackedMatrix {
 public:
  PackedMatrix() = default;
  // weight_rows_cols: any floating [rows, cols] tensor on the CPU; bf16 storage rounds to nearest even.
  PackedMatrix(const at::Tensor& weight_rows_cols, WeightStorage storage);
  int64_t rows() const { return data_.size(0); }
  int64_t cols() const { return data_.size(1); }
  WeightStorage storage() const { return storage_; }
  int64_t bytes() const { return data_.numel() * static_cast<int64_t>(data_.element_size()); }
  at::Tensor multiply(const at::Tensor& x_tokens_cols) const;  // float32 contiguous [tokens, cols] -> [tokens, rows]
  at::Tensor to_float() const;                                 // the stored values as float32 [rows, cols]
  // [x W_1ᵀ | x W_2ᵀ | ...] [tokens, Σ rows] for matrices of equal cols and storage (fused first factors): in decode
  // one dispatch over all their rows, each row's dot product as multiply() computes it; in prefill one BLAS product
  // each. Nothing is copied: the matrices stay where they are.
  static at::Tensor multiply_side_by_side(const std::vector<const PackedMatrix*>& matrices,
                                          const at::Tensor& x_tokens_cols);

 private:
  at::Tensor data_;  // float32 or bfloat16 [rows, cols], contiguous
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
