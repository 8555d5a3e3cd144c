// CoSpaDi's K-SVD in the whitened space (see cospadi.h).
#include "lmshrink/compress/cospadi.h"

#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink {

at::Tensor ksvd_initial_dictionary(const at::Tensor& whitened_n_m, int64_t atoms, uint64_t seed) {
  int64_t n = whitened_n_m.size(0), m = whitened_n_m.size(1);
  at::Generator generator = at::detail::createCPUGenerator(seed);
  at::Tensor dictionary = torch::randn({n, atoms}, generator, whitened_n_m.options());
  int64_t from_columns = std::min(atoms, m);
  at::Tensor order = torch::randperm(m, generator, whitened_n_m.options().dtype(torch::kLong));
  at::Tensor picked = whitened_n_m.index_select(1, order.narrow(0, 0, from_columns));
  at::Tensor norms = picked.norm(2, 0, /*keepdim=*/true);
  at::Tensor usable = (norms > 0).expand_as(picked);
  dictionary.narrow(1, 0, from_columns).copy_(torch::where(usable, picked, dictionary.narrow(1, 0, from_columns)));
  return dictionary / dictionary.norm(2, 0, /*keepdim=*/true);
}

namespace {

// Columns j and slot t of every use of each atom: the flat index t * m + j into [s, m], grouped by atom.
struct AtomUses {
  at::Tensor flat;     // int64 [s m], sorted by atom
  at::Tensor offsets;  // int64 [k + 1]
};

AtomUses atom_uses(const at::Tensor& rows_s_m, int64_t k) {
  auto [sorted_atoms, flat] = rows_s_m.flatten().sort(c10::optional<bool>(true), /*dim=*/0, /*descending=*/false);
  at::Tensor counts = torch::bincount(sorted_atoms, /*weights=*/{}, k);
  at::Tensor offsets = torch::zeros({k + 1}, counts.options());
  offsets.narrow(0, 1, k).copy_(counts.cumsum(0));
  return {flat, offsets};
}

}  // namespace

void ksvd_update_atoms(at::Tensor& dictionary_n_k, SparseCode& code, at::Tensor& residual_n_m, int64_t power_iterations,
                       std::vector<double>* per_atom_objective) {
  int64_t k = dictionary_n_k.size(1), m = residual_n_m.size(1);
  AtomUses uses = atom_uses(code.rows, k);
  at::Tensor values_flat = code.values.view(-1);
  auto offsets = uses.offsets.accessor<int64_t, 1>();
  for (int64_t i = 0; i < k; ++i) {
    int64_t count = offsets[i + 1] - offsets[i];
    if (count == 0) continue;  // unused atom: skipped (ALGORITHMS.md §2 step 3)
    at::Tensor flat = uses.flat.narrow(0, offsets[i], count);
    at::Tensor columns = flat.remainder(m);
    at::Tensor atom = dictionary_n_k.select(1, i);
    at::Tensor r = residual_n_m.index_select(1, columns).addr_(atom, values_flat.index_select(0, flat));  // R_i
    at::Tensor u = atom.clone();
    for (int64_t step = 0; step < power_iterations; ++step) {
      at::Tensor next = torch::mv(r, torch::mv(r.t(), u));
      double norm = next.norm().item<double>();
      if (!(norm > 0.0)) break;  // R_i = 0 along u: the current atom is already optimal
      u = next / norm;
    }
    at::Tensor v = torch::mv(r.t(), u);  // optimal coefficients for the unit atom u
    atom.copy_(u);
    values_flat.index_copy_(0, flat, v);
    residual_n_m.index_copy_(1, columns, r.addr_(u, v, /*beta=*/1, /*alpha=*/-1));
    if (per_atom_objective) per_atom_objective->push_back(residual_n_m.pow(2).sum().item<double>());
  }
}

namespace {

// Per column, the previous code where its residual is smaller than the new code's.
void keep_better_columns(SparseCode& fresh, at::Tensor& fresh_residual, const SparseCode& previous,
                         const at::Tensor& previous_residual) {
  at::Tensor worse = fresh_residual.pow(2).sum(0) > previous_residual.pow(2).sum(0);  // [m]
  if (!worse.any().item<bool>()) return;
  fresh.rows = torch::where(worse.unsqueeze(0), previous.rows, fresh.rows);
  fresh.values = torch::where(worse.unsqueeze(0), previous.values, fresh.values);
  fresh_residual = torch::where(worse.unsqueeze(0), previous_residual, fresh_residual);
}

}  // namespace

DictFit fit_ksvd(const at::Tensor& whitened_n_m, const KsvdOptions& options) {
  int64_t n = whitened_n_m.size(0), k = options.atoms, s = options.nonzeros;
  LMSHRINK_CHECK(k >= 1 && s >= 1 && s <= k, "cospadi: need 1 <= s <= k, got k = ", k, ", s = ", s);
  LMSHRINK_CHECK(options.iterations >= 1, "cospadi: --iterations must be positive");
  at::Tensor w = whitened_n_m.to(torch::kFloat64).contiguous();
  DictFit fit;
  fit.dictionary = ksvd_initial_dictionary(w, k, options.seed);
  at::Tensor residual;
  Progress progress(str_cat("k-svd ", n, "x", w.size(1), " k=", k, " s=", s), options.iterations);
  for (int64_t iteration = 0; iteration < options.iterations; ++iteration) {
    SparseCode code = batched_omp(fit.dictionary, w, s, options.omp_batch);
    at::Tensor fresh_residual = w - torch::matmul(fit.dictionary, dense_code(code, k));
    if (iteration > 0) keep_better_columns(code, fresh_residual, fit.code, residual);
    fit.code = code;
    residual = fresh_residual;
    fit.objective.push_back(residual.pow(2).sum().item<double>());
    ksvd_update_atoms(fit.dictionary, fit.code, residual, options.power_iterations);
    fit.objective.push_back(residual.pow(2).sum().item<double>());
    progress.advance();
  }
  progress.finish();
  return fit;
}

}  // namespace lmshrink
