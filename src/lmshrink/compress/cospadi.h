// CoSpaDi (arXiv 2509.22075; ALGORITHMS.md §2): W_L ≈ D_L S in the whitened space W_L = Lᵀ W, fitted by K-SVD
// (Aharon, Elad & Bruckstein 2006): T alternations (default 60) of
//   1. sparse coding, exactly s atoms per column by Batch-OMP (omp.h), 8192 columns per batch;
//   2. the dictionary update, atoms i = 1..k in turn: on the columns Ω_i using atom i, the residual without it,
//      R_i = E[:, Ω_i] + d_i S_{i,Ω_i}, is replaced by its best rank-1 approximation, found by power iterations
//      (default 8) started from the current atom; d_i ← u (unit), S_{i,Ω_i} ← R_iᵀ u. Atoms with empty Ω_i are
//      skipped (the paper's rule). The residual E = W_L − D S is maintained, not recomputed per atom.
// Init: k columns of W_L from a seeded random permutation (seed 42), normalised; atoms beyond the column count,
// and zero columns, are seeded Gaussian unit vectors. Our addition: after each coding step a column keeps its
// previous code when that one is better, so the objective never increases across iterations (OMP is greedy
// and may otherwise undo an atom update).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "lmshrink/compress/omp.h"

namespace lmshrink {

struct KsvdOptions {
  int64_t atoms = 0;     // k
  int64_t nonzeros = 0;  // s ≤ k
  int64_t iterations = 60;
  int64_t power_iterations = 8;
  int64_t omp_batch = 8192;
  uint64_t seed = 42;
};

struct DictFit {
  at::Tensor dictionary;           // D_L float64 [n, k] in the whitened space
  SparseCode code;                 // S: rows / values [s, m]
  std::vector<double> objective;   // ‖W_L − D_L S‖_F² after each iteration's coding and update, in order
};

// whitened_n_m: W_L float64 [n, m].
DictFit fit_ksvd(const at::Tensor& whitened_n_m, const KsvdOptions& options);

// One dictionary sweep over all atoms (step 2), updating dictionary, code values and residual E = W_L − D S in
// place. per_atom_objective (tests): ‖E‖² appended after every atom.
void ksvd_update_atoms(at::Tensor& dictionary_n_k, SparseCode& code, at::Tensor& residual_n_m, int64_t power_iterations,
                       std::vector<double>* per_atom_objective = nullptr);

// Initial unit-norm dictionary [n, k] from the columns of W_L (see above).
at::Tensor ksvd_initial_dictionary(const at::Tensor& whitened_n_m, int64_t atoms, uint64_t seed);

}  // namespace lmshrink
