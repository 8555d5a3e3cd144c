// Straightforward float64 reference for sparse dictionary learning, used by tests and benchmarks to
// check the fast code against. It is not product code and is deliberately not optimised: one target
// column at a time, a fresh least-squares solve at every OMP step, the residual recomputed from
// scratch, one atom at a time in K-SVD with an exact SVD.
//   - OMP: Pati, Rezaiifar, Krishnaprasad 1993, "Orthogonal matching pursuit" (ALGORITHMS.md §2 step 2).
//   - K-SVD: Aharon, Elad, Bruckstein 2006, "K-SVD: an algorithm for designing overcomplete
//     dictionaries for sparse representation" (ALGORITHMS.md §2 step 3, exact rank-1 instead of power
//     iterations).
//   - COMPOT hard-threshold code and orthogonal Procrustes update (ALGORITHMS.md §4).
// Every matrix is a 2-D float64 CPU tensor. A dictionary is [n, k] (one atom per column); targets are
// [n, m] (one target per column); dense coefficients are [k, m]. Bad input throws c10::Error (TORCH_CHECK).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace lmshrink::reference {

// Sparse code of m targets with s atoms each, column j listing its atoms in the order OMP chose them.
struct NaiveCode {
  at::Tensor rows;    // int64 [s, m]: atom indices of column j, selection order
  at::Tensor values;  // float64 [s, m]: coefficient of atom rows[t, j] in column j
};

// Orthogonal matching pursuit, one column at a time. Dictionary [n, k] with unit-norm columns,
// targets [n, m], 1 <= s <= k. Each of the s steps picks the not-yet-chosen atom with the largest
// |d_iᵀ r| (lowest index on ties), then refits all chosen coefficients by least squares on the chosen
// atoms (an SVD-based solve, so a rank-deficient choice gives the minimum-norm fit) and recomputes
// the residual r = w − D_chosen x.
NaiveCode naive_omp(const at::Tensor& dictionary, const at::Tensor& targets, int64_t s);

// Dense [k, m] coefficient matrix of a code (zeros off the support).
at::Tensor dense_coefficients(const NaiveCode& code, int64_t k);

// ‖targets − dictionary · coefficients‖_F² for a dense coefficient matrix [k, m].
double squared_error(const at::Tensor& dictionary, const at::Tensor& coefficients_k_m, const at::Tensor& targets);

// The best s-atom fit of every column, by least squares on each of the C(k, s) supports (the first
// support in lexicographic order wins ties). Exponential: for tiny k only. Returns dense [k, m].
at::Tensor brute_force_best_subset(const at::Tensor& dictionary, const at::Tensor& targets, int64_t s);

// One K-SVD dictionary-update sweep over atoms i = 0..k-1, in order. Omega_i = columns j with
// coefficients[i, j] != 0 (atom skipped when empty); R = targets[:, Omega] − Σ_{l≠i} d_l S[l, Omega]
// recomputed from scratch with the current (already updated) atoms; R ≈ σ₁ u₁ v₁ᵀ from a full SVD;
// d_i = u₁ and S[i, Omega] = σ₁ v₁ᵀ, with the sign of (u₁, v₁) chosen so that d_iᵀ d_i(old) >= 0.
// Writes into the storage of dictionary [n, k] and coefficients_k_m [k, m]; neither may alias targets.
void naive_ksvd_update(at::Tensor& dictionary, at::Tensor& coefficients_k_m, const at::Tensor& targets);

// Full naive K-SVD. On entry `dictionary` [n, k] is the initial dictionary; its columns are normalised
// (none may be zero). Then `iterations` (>= 1) times: S = dense(naive_omp(D, targets, s)), then
// naive_ksvd_update(D, S, targets), and squared_error(D, S, targets) is appended to
// *objective_history when it is not null. On return `dictionary` holds the final dictionary (a fresh
// tensor: the initial tensor's storage is not written) and the final dense coefficients [k, m] are
// returned.
at::Tensor naive_ksvd(at::Tensor& dictionary, const at::Tensor& targets, int64_t s, int64_t iterations,
                      std::vector<double>* objective_history);

// COMPOT code for an orthonormal dictionary [n, k] (DᵀD = I, k <= n): keep the s largest-|·| entries
// of each column of Dᵀ W (lowest index on ties), zero the rest. Returns dense [k, m].
at::Tensor naive_hard_threshold(const at::Tensor& orthonormal_dictionary, const at::Tensor& targets, int64_t s);

// COMPOT dictionary update for a fixed code: thin SVD W Sᵀ = P Σ Qᵀ (W [n, m], S [k, m], k <= n),
// returns D = P Qᵀ [n, k], the orthonormal D minimising ‖W − D S‖_F.
at::Tensor naive_procrustes(const at::Tensor& targets, const at::Tensor& coefficients_k_m);

}  // namespace lmshrink::reference
