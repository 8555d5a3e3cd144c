// Global allocation by a multi-choice knapsack (ROCKET, arXiv 2602.11008 eqs. 9–10, App. A Alg. 1, App. C;
// ALGORITHMS.md §3.5): every matrix takes exactly one of its options (rate, removed words, error); minimise the summed
// error subject to the removed words reaching the target. Solved exactly for the integerised weights by dynamic
// programming: scale = precision / total, an option's weight is ⌊removed · scale⌋ (rounded down, so the true removed
// count of a feasible choice is at least the target), the target is ⌈target · scale⌉ steps, and states at or above
// the target are merged into one (nothing is gained by removing more), so the table has precision + 1 columns:
// O(matrices × precision × options) time, two bytes per (matrix, state) for the backtrack. Rounding down loses up to
// one step per matrix, so a target that the exact weights reach by a smaller margin is retried at 4×, 16×, …
// the precision while the backtrack stays within 1 GiB.
// The error cap of §3.5 (find_min_alpha_for_target_cr, preprocess_layer_profiles): ē = mean error over matrices at
// the grid rate closest to the target; α_min = the smallest α in 1.0, 1.1, …, 2.0 for which the greedy rule (per
// matrix the largest-rate option with error ≤ α ē, else its least-error option) reaches the target; then every option
// with error > α_min ē or outside [0, 2) is disallowed (a matrix left with no compressed option keeps its least-error
// one, even when its uncompressed option is allowed: the greedy rule counted that one, so the target stays reachable).
#pragma once
#include <cstdint>
#include <vector>

namespace lmshrink {

struct KnapsackOption {
  double rate = 0.0;     // the option's compression rate (0: uncompressed); used by the error cap only
  double removed = 0.0;  // words removed by this option
  double error = 0.0;
  bool allowed = true;   // false: dropped by the error cap (or by the caller)
};
using KnapsackItem = std::vector<KnapsackOption>;  // one matrix's options

struct KnapsackSolution {
  std::vector<int64_t> choice;  // option index per item
  double removed = 0.0, error = 0.0;
  int64_t target_steps = 0, achieved_steps = 0;  // integerised target and Σ weights of the choice
};

// total: the words the target fraction refers to; target_removed: words to remove. Throws lmshrink::Error when no
// combination of allowed options reaches the target (naming the largest reachable fraction).
KnapsackSolution solve_mckp(const std::vector<KnapsackItem>& items, double total, double target_removed, int64_t precision);

// Applies the error cap in place; returns α_min, or −1 when no α ≤ 2 reaches the target (then nothing is capped).
double apply_error_cap(std::vector<KnapsackItem>& items, double target_ratio, double total);

}  // namespace lmshrink
