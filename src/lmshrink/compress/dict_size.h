// Sizes of a sparse-dictionary factorization W ≈ D S (ALGORITHMS.md §2 "Sizes from a CR", §4 "Sizes", §8.6):
// a d1 × d2 matrix (or a group of m such matrices sharing D) stored as D [d1, k], s nonzeros per output column
// and their index. Costs are counted in 16-bit words, the unit of the papers' bf16 checkpoints:
//   words(k, s) = F(d1 k) + m F(s d2) + [full] m · index,   index = min(d2 ⌈k/8⌉ / 2, s d2)
// F(n) = n for 16-bit values, and for RTN-quantized ones the packed codes plus one fp16 scale per group, in words
// (on average v = (bits + 16/group) / 16 words per value); the index is the
// packed bitmask (k d2 / 16 words, eq. 10) or uint16 rows (s d2 words), whichever is smaller. "effective"
// accounting (eq. 11) omits the index. For a kept fraction 1 − γ the solver returns the papers'
// k = ⌊(1 − γ) m d1 d2 / (v (d1 + m d2/ρ) + [full] m d2/16)⌋ (lowered if the exact cost exceeds the budget)
// and s = ⌊k / ρ⌋; for ρ = 2 and full accounting, k = ⌊(1−γ) d1 d2 / (d1 + d2/2 + d2/16)⌋.
#pragma once
#include <cstdint>
#include <string>

namespace lmshrink {

enum class Accounting { kFull, kEffective };
Accounting parse_accounting(const std::string& name);  // "full" or "effective"; throws otherwise
std::string accounting_name(Accounting accounting);

struct DictCost {
  Accounting accounting = Accounting::kFull;
  int quantize_bits = 0;        // 0: 16-bit values; 8 or 4: RTN codes
  int64_t quant_group = 128;    // values per fp16 scale
  double value_words() const;   // words per stored value, on average (the size formula)
  double factor_words(int64_t values) const;  // exact words of one stored factor (packed codes + scales)
};

struct DictSize {
  int64_t atoms = 0;     // k
  int64_t nonzeros = 0;  // s, per output column
};

// Words of m matrices d1 × d2 sharing one dictionary of k atoms, s nonzeros per column.
double dict_words(int64_t d1, int64_t d2, int64_t m, DictSize size, const DictCost& cost);

// The largest (k, ⌊k/ρ⌋) within (1 − ratio) m d1 d2 words; max_atoms > 0 caps k (COMPOT: k ≤ d1), and a capped
// k gives the rest of the budget to s (≤ k). Throws lmshrink::Error naming `what` for ratio outside (0, 1),
// ρ < 1, or a budget that leaves s = 0.
DictSize dict_size_for_ratio(int64_t d1, int64_t d2, int64_t m, double ratio, double rho, const DictCost& cost,
                             int64_t max_atoms, const std::string& what);

}  // namespace lmshrink
