// Sparse-dictionary size accounting (see dict_size.h).
#include "lmshrink/compress/dict_size.h"

#include <algorithm>
#include <cmath>

#include "lmshrink/util/error.h"

namespace lmshrink {

Accounting parse_accounting(const std::string& name) {
  if (name == "full") return Accounting::kFull;
  if (name == "effective") return Accounting::kEffective;
  fail("accounting: expected full or effective, got '", name, "'");
}

std::string accounting_name(Accounting accounting) {
  return accounting == Accounting::kFull ? "full" : "effective";
}

double DictCost::value_words() const {
  if (quantize_bits == 0) return 1.0;
  return (quantize_bits + 16.0 / static_cast<double>(quant_group)) / 16.0;
}

double DictCost::factor_words(int64_t values) const {
  if (quantize_bits == 0) return static_cast<double>(values);
  int64_t code_bytes = quantize_bits == 8 ? values : (values + 1) / 2;
  int64_t scale_bytes = 2 * ((values + quant_group - 1) / quant_group);
  return static_cast<double>(code_bytes + scale_bytes) / 2.0;
}

double dict_words(int64_t d1, int64_t d2, int64_t m, DictSize size, const DictCost& cost) {
  double values = cost.factor_words(d1 * size.atoms) + static_cast<double>(m) * cost.factor_words(size.nonzeros * d2);
  double index = std::min(static_cast<double>(d2 * ((size.atoms + 7) / 8)) / 2.0, static_cast<double>(size.nonzeros * d2));
  return values + (cost.accounting == Accounting::kFull ? static_cast<double>(m) * index : 0.0);
}

namespace {

int64_t nonzeros_for(int64_t atoms, double rho) {
  return static_cast<int64_t>(std::floor(static_cast<double>(atoms) / rho + 1e-9));
}

// The largest s ≤ k with the cost of (k, s) within budget, or 0.
int64_t largest_nonzeros(int64_t d1, int64_t d2, int64_t m, int64_t atoms, double budget, const DictCost& cost) {
  int64_t s = atoms;
  while (s > 0 && dict_words(d1, d2, m, {atoms, s}, cost) > budget) --s;
  return s;
}

}  // namespace

DictSize dict_size_for_ratio(int64_t d1, int64_t d2, int64_t m, double ratio, double rho, const DictCost& cost,
                             int64_t max_atoms, const std::string& what) {
  LMSHRINK_CHECK(ratio > 0.0 && ratio < 1.0, "ratio: expected a fraction of parameters to remove in (0, 1), got ", ratio);
  LMSHRINK_CHECK(rho >= 1.0, "dictionary.atoms_per_nonzero: k/s must be at least 1, got ", rho);
  double budget = (1.0 - ratio) * static_cast<double>(m * d1 * d2);
  double index_per_atom = cost.accounting == Accounting::kFull ? static_cast<double>(m * d2) / 16.0 : 0.0;
  double per_atom = cost.value_words() * (d1 + m * d2 / rho) + index_per_atom;
  // The papers' k = ⌊budget / (v (d1 + m d2/ρ) + index per atom)⌋, lowered while the exact cost (⌈k/8⌉ mask
  // bytes, ⌊k/ρ⌋ nonzeros) exceeds the budget.
  int64_t atoms = std::max<int64_t>(1, static_cast<int64_t>(budget / per_atom));
  auto fits = [&](int64_t k) { return dict_words(d1, d2, m, {k, nonzeros_for(k, rho)}, cost) <= budget; };
  while (atoms > 1 && !fits(atoms)) --atoms;
  DictSize size{atoms, nonzeros_for(atoms, rho)};
  if (max_atoms > 0 && size.atoms > max_atoms) {
    size.atoms = max_atoms;
    size.nonzeros = largest_nonzeros(d1, d2, m, max_atoms, budget, cost);
  }
  LMSHRINK_CHECK(size.nonzeros >= 1 && dict_words(d1, d2, m, size, cost) <= budget, what, ": ratio ", ratio,
                 " leaves no nonzero coefficient for a ", d1, " x ", d2, " matrix at k/s = ", rho,
                 " (choose a smaller ratio or k/s)");
  return size;
}

}  // namespace lmshrink
