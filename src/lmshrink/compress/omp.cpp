// Batch-OMP (see omp.h).
#include "lmshrink/compress/omp.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

// One batch: correlations_b_k = (Dᵀ W_b)ᵀ [b, k]; returns rows and values [b, s].
SparseCode omp_batch(const at::Tensor& gram_k_k, const at::Tensor& correlations_b_k, int64_t s) {
  int64_t b = correlations_b_k.size(0);
  auto long_opts = correlations_b_k.options().dtype(torch::kLong);
  at::Tensor rows = torch::zeros({b, s}, long_opts);
  at::Tensor chol = torch::zeros({b, s, s}, correlations_b_k.options());  // lower factor of G[I, I]
  at::Tensor chosen = torch::zeros_like(correlations_b_k, torch::kBool);
  at::Tensor alpha = correlations_b_k.clone();
  at::Tensor gamma;
  at::Tensor gram_diag = gram_k_k.diagonal();
  for (int64_t t = 0; t < s; ++t) {
    at::Tensor atom = alpha.abs().masked_fill_(chosen, -1.0).argmax(1);  // [b]
    rows.select(1, t).copy_(atom);
    chosen.scatter_(1, atom.unsqueeze(1), true);
    at::Tensor diag_sq = gram_diag.index_select(0, atom);  // [b]
    if (t > 0) {
      at::Tensor previous = rows.narrow(1, 0, t);
      at::Tensor g = gram_k_k.index_select(0, atom).gather(1, previous).unsqueeze(2);  // G[I, a], [b, t, 1]
      at::Tensor l_t = chol.narrow(1, 0, t).narrow(2, 0, t);
      at::Tensor w = at::linalg_solve_triangular(l_t, g, /*upper=*/false).squeeze(2);  // [b, t]
      chol.select(1, t).narrow(1, 0, t).copy_(w);
      diag_sq = diag_sq - w.pow(2).sum(1);
    }
    // An atom (numerically) dependent on those chosen keeps a tiny pivot: its coefficient stays bounded.
    chol.select(1, t).select(1, t).copy_(diag_sq.clamp_min(1e-12).sqrt());
    at::Tensor support = rows.narrow(1, 0, t + 1);
    at::Tensor rhs = correlations_b_k.gather(1, support).unsqueeze(2);  // [b, t+1, 1]
    gamma = at::cholesky_solve(rhs, chol.narrow(1, 0, t + 1).narrow(2, 0, t + 1), /*upper=*/false).squeeze(2);
    if (t + 1 < s) {
      at::Tensor x = torch::zeros_like(correlations_b_k).scatter_(1, support, gamma);
      alpha = correlations_b_k - torch::matmul(x, gram_k_k);
    }
  }
  return {rows, gamma};
}

}  // namespace

SparseCode batched_omp(const at::Tensor& dictionary_n_k, const at::Tensor& targets_n_m, int64_t s, int64_t batch_columns) {
  LMSHRINK_CHECK(dictionary_n_k.dim() == 2 && targets_n_m.dim() == 2 && dictionary_n_k.size(0) == targets_n_m.size(0),
                 "omp: dictionary [n, k] and targets [n, m] must share n, got ", dictionary_n_k.sizes(), " and ",
                 targets_n_m.sizes());
  int64_t k = dictionary_n_k.size(1), m = targets_n_m.size(1);
  LMSHRINK_CHECK(s >= 1 && s <= k, "omp: s = ", s, " nonzeros must lie in [1, k = ", k, "]");
  LMSHRINK_CHECK(batch_columns >= 1, "omp: batch size must be positive");
  at::Tensor d = dictionary_n_k.to(torch::kFloat64);
  at::Tensor gram = torch::matmul(d.t(), d);
  at::Tensor rows = torch::empty({s, m}, targets_n_m.options().dtype(torch::kLong));
  at::Tensor values = torch::empty({s, m}, d.options());
  for (int64_t start = 0; start < m; start += batch_columns) {
    int64_t width = std::min(batch_columns, m - start);
    at::Tensor correlations = torch::matmul(targets_n_m.narrow(1, start, width).to(torch::kFloat64).t(), d);  // [b, k]
    SparseCode batch = omp_batch(gram, correlations, s);
    rows.narrow(1, start, width).copy_(batch.rows.t());
    values.narrow(1, start, width).copy_(batch.values.t());
  }
  return {rows, values};
}

at::Tensor dense_code(const SparseCode& code, int64_t k) {
  at::Tensor s = torch::zeros({k, code.rows.size(1)}, code.values.options());
  return s.scatter_(0, code.rows, code.values);
}

}  // namespace lmshrink
