// ROCKET's per-matrix (rate, ks) choice from a layer profile (rocket_profile.h; ALGORITHMS.md §3.5):
//   mckp     the multi-choice knapsack of mckp.h over every matrix's options (the uncompressed option included
//            unless allow_uncompressed is false, the reference code's behaviour), after the error cap unless
//            error_cap is false; the removed words of the choice reach ratio · Σ dense words;
//   uniform  every matrix at the rate `ratio` itself, with the best ks the profile found there (ROCKET† of the
//            paper's Table 7); the profile must hold that rate.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmshrink/compress/compress_options.h"
#include "lmshrink/compress/compress_result.h"
#include "lmshrink/compress/rocket_profile.h"

namespace lmshrink {

struct RocketAllocOptions {
  Alloc alloc = Alloc::kMckp;     // kMckp or kUniform
  bool allow_uncompressed = true;
  bool error_cap = true;
  int64_t precision = 50000;      // knapsack steps of the total
};

struct RocketAllocation {
  std::vector<ProfileOption> choice;  // per profiled matrix, in profile order
  double alpha_min = -1.0;            // mckp with the error cap: α_min, −1 when uncapped
  double dense_words = 0.0, kept_words = 0.0;
  double removed_ratio() const { return 1.0 - kept_words / dense_words; }
  double total_error = 0.0;
};

// Throws lmshrink::Error on an empty profile, an unknown alloc, a uniform rate the profile lacks, or a target no
// combination reaches.
RocketAllocation allocate_rocket(const std::vector<MatrixProfile>& profile, double ratio, const RocketAllocOptions& options);

// compress_model's rocket step: the given profile, or one computed with profile_settings(options) (over the cached
// statistics when given; with profile_metric nll, its options' ΔNLL measured by nll_probe.h, which swaps the model's
// layers one at a time and restores them), and its allocation at options.ratio. Records the profile, its seconds, α_min and the
// allocated ratio in `result`.
RocketAllocation profile_and_allocate(Transformer& model, const at::Tensor& calib_tokens, const CompressOptions& options,
                                      const std::vector<BlockStats>* cached_stats, const std::vector<MatrixProfile>* given,
                                      CompressResult& result);

}  // namespace lmshrink
