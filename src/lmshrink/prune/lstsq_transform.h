// ReplaceMe least-squares transform (paper eq. 6; mts-ai/ReplaceMe lstsq.py; ALGORITHMS.md §6.2):
//   T* = argmin_T ||M T - R||_F^2 + ridge ||T||_F^2 = (M^T M + ridge I)^{-1} M^T R,
// rows = calibration tokens, M [tokens, hidden] = the MLP output of the last kept block (down_proj
// output, bias included), R = h_last - Y with Y = h_kept - M the residual around that MLP, so that
// M T + Y approximates the output of the removed range. Row-vector form: T is [hidden, hidden] and
// acts on the right. M^T M and M^T R are accumulated in float64 over all tokens (each product computed
// in float64) and the system is solved by Cholesky in float64 (the reference inverts explicitly).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace lmshrink {

class LstsqAccumulator {
 public:
  explicit LstsqAccumulator(int64_t hidden);
  // m, r: [tokens, hidden], any floating dtype; accumulated in float64 chunks.
  void add(const at::Tensor& m, const at::Tensor& r);
  int64_t tokens() const { return tokens_; }
  int64_t hidden() const { return hidden_; }
  const at::Tensor& mtm() const { return mtm_; }  // [hidden, hidden] float64, sum of m^T m
  const at::Tensor& mtr() const { return mtr_; }  // [hidden, hidden] float64, sum of m^T r

 private:
  int64_t hidden_;
  int64_t tokens_ = 0;
  at::Tensor mtm_, mtr_;
};

// Tokens the d x d normal equations need without a ridge: at least hidden (M^T M has rank <= tokens).
int64_t lstsq_min_tokens(int64_t hidden);

// T [hidden, hidden] float64. Throws an Error when there are fewer tokens than lstsq_min_tokens and no
// ridge, or when M^T M + ridge I is not positive definite (naming prune.ridge as the fix).
at::Tensor solve_lstsq_transform(const LstsqAccumulator& normal_equations, double ridge);

}  // namespace lmshrink
