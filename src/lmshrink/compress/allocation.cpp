// The pooled-spectrum allocation policy (see allocation.h).
#include "lmshrink/compress/allocation.h"

#include <algorithm>

#include "lmshrink/util/error.h"

namespace lmshrink {

AllocMatrix alloc_matrix(const std::string& name, const at::Tensor& weight_out_in) {
  at::Tensor w = weight_out_in.to(torch::kFloat64);
  double norm = w.norm().item<double>();
  LMSHRINK_CHECK(norm > 0.0, name, ": an all-zero matrix has no spectrum to allocate by");
  return {name, w.size(1), w.size(0), at::linalg_svdvals(w / norm)};
}

namespace {

struct Pooled {
  double value;
  size_t matrix;
};

double kept_fraction(int64_t kept_values, int64_t full_rank, const AllocGuards& guards) {
  double f = static_cast<double>(kept_values) / static_cast<double>(full_rank);
  return std::clamp(f, 1.0 - guards.max_ratio, 1.0 - guards.min_ratio);
}

}  // namespace

std::vector<double> pooled_spectrum_ratios(const std::vector<AllocMatrix>& matrices, double ratio, const AllocGuards& guards) {
  LMSHRINK_CHECK(ratio > 0.0 && ratio < 1.0, "ratio: expected a fraction in (0, 1), got ", ratio);
  LMSHRINK_CHECK(guards.min_ratio >= 0.0 && guards.min_ratio <= guards.max_ratio && guards.max_ratio < 1.0,
                 "dictionary.alloc_min_ratio/dictionary.alloc_max_ratio: need 0 <= min <= max < 1, got ", guards.min_ratio, ", ", guards.max_ratio);
  std::vector<Pooled> pool;
  std::vector<double> sizes;
  double total = 0.0;
  for (size_t i = 0; i < matrices.size(); ++i) {
    at::Tensor sv = matrices[i].singular_values.to(torch::kCPU, torch::kFloat64).contiguous();
    for (int64_t j = 0; j < sv.numel(); ++j) pool.push_back({sv.data_ptr<double>()[j], i});
    sizes.push_back(static_cast<double>(matrices[i].d1 * matrices[i].d2));
    total += sizes.back();
  }
  std::stable_sort(pool.begin(), pool.end(), [](const Pooled& a, const Pooled& b) { return a.value > b.value; });
  double target = (1.0 - ratio) * total;
  std::vector<int64_t> kept(matrices.size(), 0);
  auto kept_total = [&]() {
    double sum = 0.0;
    for (size_t i = 0; i < matrices.size(); ++i) {
      sum += kept_fraction(kept[i], matrices[i].singular_values.numel(), guards) * sizes[i];
    }
    return sum;
  };
  double before = kept_total();
  LMSHRINK_CHECK(before <= target, "dictionary.alloc dynamic: ratio ", ratio, " cannot be reached when no matrix may lose more "
                 "than --alloc-max-ratio ", guards.max_ratio);
  for (const Pooled& item : pool) {
    ++kept[item.matrix];
    double after = kept_total();
    if (after < target) {
      before = after;
      continue;
    }
    std::vector<double> ratios;
    for (size_t i = 0; i < matrices.size(); ++i) {
      ratios.push_back(1.0 - kept_fraction(kept[i], matrices[i].singular_values.numel(), guards));
    }
    ratios[item.matrix] += (after - target) / sizes[item.matrix];  // the partial step that meets the budget exactly
    return ratios;
  }
  fail("dictionary.alloc dynamic: ratio ", ratio, " cannot be reached when every matrix must lose at least dictionary.alloc_min_ratio ",
       guards.min_ratio);
}

namespace {

double words_of(const AllocMatrix& m, DictSize size, const DictCost& cost) { return dict_words(m.d1, m.d2, 1, size, cost); }

}  // namespace

std::vector<DictSize> sizes_within_budget(const std::vector<AllocMatrix>& matrices, const std::vector<double>& ratios,
                                          double ratio, double rho, const DictCost& cost, bool atoms_at_most_in) {
  std::vector<DictSize> sizes;
  std::vector<double> goal;
  double budget = 0.0, used = 0.0;
  for (size_t i = 0; i < matrices.size(); ++i) {
    const AllocMatrix& m = matrices[i];
    double r = std::clamp(ratios[i], 1e-9, 1.0 - 1e-9);
    sizes.push_back(dict_size_for_ratio(m.d1, m.d2, 1, r, rho, cost, atoms_at_most_in ? m.d1 : 0, m.name));
    goal.push_back((1.0 - r) * static_cast<double>(m.d1 * m.d2));
    budget += (1.0 - ratio) * static_cast<double>(m.d1 * m.d2);
    used += words_of(m, sizes.back(), cost);
  }
  for (;;) {  // greedy fill: the matrix furthest below its goal that can still grow within the budget
    int best = -1;
    DictSize best_size;
    double best_deficit = -1e300, best_words = 0.0;
    for (size_t i = 0; i < matrices.size(); ++i) {
      const AllocMatrix& m = matrices[i];
      double now = words_of(m, sizes[i], cost), deficit = (goal[i] - now) / static_cast<double>(m.d1 * m.d2);
      DictSize more_atoms{sizes[i].atoms + 1, sizes[i].nonzeros}, more_nonzeros{sizes[i].atoms, sizes[i].nonzeros + 1};
      for (DictSize candidate : {more_nonzeros, more_atoms}) {
        bool allowed = candidate.nonzeros <= candidate.atoms && (!atoms_at_most_in || candidate.atoms <= m.d1);
        double extra = words_of(m, candidate, cost) - now;
        if (allowed && used + extra <= budget && deficit > best_deficit) {
          best = static_cast<int>(i), best_size = candidate, best_deficit = deficit, best_words = extra;
          break;
        }
      }
    }
    if (best < 0) return sizes;
    sizes[best] = best_size;
    used += best_words;
  }
}

}  // namespace lmshrink
