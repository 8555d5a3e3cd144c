// Helpers of the inference-kernel tests: float64 loop references, a normwise relative error, and guards that set
// the kernel family and the libtorch thread count for one scope.
#pragma once
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "lmshrink/runtime/packed_matrix.h"

namespace lmshrink::testing {

// y[t, r] = Σ_c w[r, c] x[t, c] by plain float64 loops (independent of libtorch's matmul and of the kernels).
inline at::Tensor naive_rows_times(const at::Tensor& w_rows_cols, const at::Tensor& x_tokens_cols) {
  at::Tensor w = w_rows_cols.to(torch::kDouble).contiguous(), x = x_tokens_cols.to(torch::kDouble).contiguous();
  int64_t rows = w.size(0), cols = w.size(1), tokens = x.size(0);
  at::Tensor y = torch::zeros({tokens, rows}, torch::kDouble);
  auto wa = w.accessor<double, 2>(), xa = x.accessor<double, 2>();
  auto ya = y.accessor<double, 2>();
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0.0;
      for (int64_t c = 0; c < cols; ++c) sum += wa[r][c] * xa[t][c];
      ya[t][r] = sum;
    }
  }
  return y;
}

// ‖got − want‖ / ‖want‖ in float64.
inline double relative_error(const at::Tensor& got, const at::Tensor& want) {
  at::Tensor g = got.to(torch::kDouble), w = want.to(torch::kDouble);
  return (g - w).norm().item<double>() / std::max(w.norm().item<double>(), 1e-300);
}

struct KernelFamily {  // force_portable_kernels for one scope, then back to what it was (LMSHRINK_KERNELS)
  explicit KernelFamily(bool portable) : saved(portable_kernels_forced()) { force_portable_kernels(portable); }
  ~KernelFamily() { force_portable_kernels(saved); }
  bool saved;
};

struct ThreadCount {  // at::set_num_threads for one scope
  explicit ThreadCount(int threads) : saved(at::get_num_threads()) { at::set_num_threads(threads); }
  ~ThreadCount() { at::set_num_threads(saved); }
  int saved;
};

inline at::Tensor random_normal(std::vector<int64_t> shape, uint64_t seed) {
  return at::normal(0.0, 1.0, shape, at::detail::createCPUGenerator(seed), torch::kFloat32);
}

}  // namespace lmshrink::testing
