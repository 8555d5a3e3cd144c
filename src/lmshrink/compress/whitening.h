// Whitening from the calibration Gram matrix G = XᵀX (ALGORITHMS.md §0, §1.2 step 2, §8.3):
// S = cholesky(G) (lower, G = S Sᵀ) in float64, so ‖X (W − Ŵ)‖_F = ‖Sᵀ (W − Ŵ)‖_F for W [in, out].
// When G is not positive definite, G is shifted by (−λ_min + ε) I, ε = 1e-6 (SVD-LLM), and the
// factorization retried; the shift is reported.
#pragma once
#include <ATen/core/Tensor.h>

namespace lmshrink {

struct Whitening {
  at::Tensor lower;     // S [in, in] float64, lower triangular, G (+ shift I) = S Sᵀ
  double shift = 0.0;   // 0 when G was positive definite
};

Whitening cholesky_whitening(const at::Tensor& gram_in_in, double epsilon = 1e-6);

}  // namespace lmshrink
