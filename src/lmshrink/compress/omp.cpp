// Batch-OMP (see omp.h).
#include "lmshrink/compress/omp.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

// One batch: correlations_b_k = (Dᵀ W_b)ᵀ [b, k]; returns rows and values [b, s]. The inverse of the chosen
// atoms' Gram submatrix G[I, I] is grown by one row and column per step (block inverse with the Schur complement
// δ = G[a, a] − gᵀ G[I, I]⁻¹ g), so every step is batched matrix products, with no per-column factorization.
SparseCode omp_batch(const at::Tensor& gram_k_k, const at::Tensor& correlations_b_k, int64_t s) {
  int64_t b = correlations_b_k.size(0);
  at::Tensor rows = torch::zeros({b, s}, correlations_b_k.options().dtype(torch::kLong));
  at::Tensor inverse = torch::zeros({b, s, s}, correlations_b_k.options());  // G[I, I]⁻¹, top-left t × t used
  at::Tensor chosen = torch::zeros_like(correlations_b_k, torch::kBool);
  at::Tensor alpha = correlations_b_k.clone();
  at::Tensor gamma;
  at::Tensor gram_diag = gram_k_k.diagonal();
  for (int64_t t = 0; t < s; ++t) {
    at::Tensor atom = alpha.abs().masked_fill_(chosen, -1.0).argmax(1);  // [b]
    rows.select(1, t).copy_(atom);
    chosen.scatter_(1, atom.unsqueeze(1), true);
    at::Tensor diag = gram_diag.index_select(0, atom);  // [b]
    at::Tensor delta = diag;
    if (t > 0) {
      at::Tensor g = gram_k_k.index_select(0, atom).gather(1, rows.narrow(1, 0, t));  // G[I, a], [b, t]
      at::Tensor block = inverse.narrow(1, 0, t).narrow(2, 0, t);
      at::Tensor w = torch::bmm(block, g.unsqueeze(2)).squeeze(2);  // G[I, I]⁻¹ g
      // An atom (numerically) dependent on those chosen keeps a tiny pivot: its coefficient stays bounded.
      delta = (diag - (g * w).sum(1)).clamp_min(1e-12 * diag.clamp_min(1e-300));
      at::Tensor scaled = w / delta.unsqueeze(1);  // [b, t]
      block.baddbmm_(scaled.unsqueeze(2), w.unsqueeze(1));  // += scaled wᵀ, in place
      inverse.select(1, t).narrow(1, 0, t).copy_(-scaled);
      inverse.select(2, t).narrow(1, 0, t).copy_(-scaled);
    }
    inverse.select(1, t).select(1, t).copy_(delta.reciprocal());
    at::Tensor support = rows.narrow(1, 0, t + 1);
    at::Tensor rhs = correlations_b_k.gather(1, support).unsqueeze(2);  // [b, t+1, 1]
    gamma = torch::bmm(inverse.narrow(1, 0, t + 1).narrow(2, 0, t + 1), rhs).squeeze(2);
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
  // The batch holds an s × s inverse per column: at most ~1 GiB of them at once.
  batch_columns = std::max<int64_t>(1, std::min<int64_t>(batch_columns, (int64_t{1} << 27) / (s * s)));
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
