// Batched orthogonal matching pursuit with a Gram matrix (Batch-OMP, Rubinstein, Zibulevsky & Elad 2008), the
// sparse-coding step of CoSpaDi (ALGORITHMS.md §2 step 2, §8.5): every target column gets exactly s atoms. All
// columns of a batch advance together: per step, the atom with the largest |correlation| among those not yet
// chosen (greedy OMP), the inverse of the chosen atoms' Gram submatrix grown by one row and column (block
// inverse with the Schur complement), the coefficients refit as G[I, I]⁻¹ (Dᵀw)_I, and the correlations
// updated as α = Dᵀw − (DᵀD) x; all batched matrix products. Nothing but DᵀD and Dᵀw is needed, so the per-step cost is independent of d1.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace lmshrink {

struct SparseCode {
  at::Tensor rows;    // int64 [s, m]: the atoms of column j, in selection order
  at::Tensor values;  // float64 [s, m]: their coefficients
};

// dictionary_n_k: float64 [n, k], unit-norm columns; targets_n_m: float64 [n, m]; 1 ≤ s ≤ k. Columns are coded
// batch_columns at a time (CoSpaDi: 8192).
SparseCode batched_omp(const at::Tensor& dictionary_n_k, const at::Tensor& targets_n_m, int64_t s,
                       int64_t batch_columns = 8192);

// S as a dense float64 [k, m] (zeros off the support).
at::Tensor dense_code(const SparseCode& code, int64_t k);

}  // namespace lmshrink
