// One-shot dynamic allocation of per-matrix compression rates under a global budget (COMPOT, ALGORITHMS.md §4
// "One-shot dynamic allocation"). The paper's exact rule is not available (§9 item 1); lmshrink implements this
// named policy, "pooled-spectrum":
//   1. every targeted matrix i (d1 × d2, n_i = min(d1, d2)) is normalised, W_i / ‖W_i‖_F, in the original
//      (not whitened) space, and the singular values of all matrices are pooled into one list ("all grouped");
//   2. keeping the c largest pooled values keeps r_i(c) of matrix i, and matrix i keeps the parameter fraction
//      f_i = clamp(r_i(c) / n_i, 1 − max_ratio, 1 − min_ratio) (the min/max compression guards);
//   3. c is the smallest count with Σ f_i d1 d2 ≥ (1 − γ) Σ d1 d2, and the matrix of the c-th value gets the
//      fraction between its two steps that meets the budget exactly; its rate is cr_i = 1 − f_i.
// Rates become integer (k, s) by dict_size_for_ratio, then a greedy fill spends what rounding left: one atom or
// one nonzero at a time to the matrix furthest below its allocated size, while the global budget holds.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "lmshrink/compress/dict_size.h"

namespace lmshrink {

struct AllocMatrix {
  std::string name;
  int64_t d1 = 0, d2 = 0;        // in, out
  at::Tensor singular_values;    // of W / ‖W‖_F, descending, float64
};

AllocMatrix alloc_matrix(const std::string& name, const at::Tensor& weight_out_in);

struct AllocGuards {
  double min_ratio = 0.05;  // no matrix is compressed less than this
  double max_ratio = 0.80;  // nor more than this
};

// Per-matrix removed fractions cr_i with Σ (1 − cr_i) d1 d2 = (1 − ratio) Σ d1 d2. Throws lmshrink::Error when
// the guards make the budget unreachable.
std::vector<double> pooled_spectrum_ratios(const std::vector<AllocMatrix>& matrices, double ratio, const AllocGuards& guards);

// Integer sizes for the rates within the global budget (1 − ratio) Σ d1 d2 words (dict_size.h).
std::vector<DictSize> sizes_within_budget(const std::vector<AllocMatrix>& matrices, const std::vector<double>& ratios,
                                          double ratio, double rho, const DictCost& cost, bool atoms_at_most_in);

}  // namespace lmshrink
