// ROCKET allocation: uniform or multi-choice knapsack over a layer profile (see rocket_alloc.h).
#include "lmshrink/compress/rocket_alloc.h"

#include <chrono>
#include <cmath>

#include "lmshrink/compress/mckp.h"
#include "lmshrink/compress/nll_probe.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

std::vector<ProfileOption> uniform_choice(const std::vector<MatrixProfile>& profile, double ratio) {
  std::vector<ProfileOption> choice;
  for (const MatrixProfile& m : profile) {
    const ProfileOption* found = nullptr;
    for (const ProfileOption& o : m.options) {
      if (std::abs(o.rate - ratio) < 1e-9 && (!found || o.error < found->error)) found = &o;  // the best bits there
    }
    LMSHRINK_CHECK(found, m.name, ": the profile has no option at rate ", ratio, " (rocket.alloc uniform needs the target rate "
                   "in the profile's grid, and a valid size there)");
    choice.push_back(*found);
  }
  return choice;
}

std::vector<ProfileOption> knapsack_choice(const std::vector<MatrixProfile>& profile, double ratio, double dense_words,
                                           const RocketAllocOptions& options, double& alpha_min) {
  std::vector<KnapsackItem> items;
  for (const MatrixProfile& m : profile) {
    KnapsackItem item;
    for (const ProfileOption& o : m.options) {
      item.push_back({o.rate, m.dense_words - o.kept_words, o.error, o.rate > 0 || options.allow_uncompressed});
    }
    items.push_back(item);
  }
  alpha_min = options.error_cap ? apply_error_cap(items, ratio, dense_words) : -1.0;
  KnapsackSolution solution = solve_mckp(items, dense_words, ratio * dense_words, options.precision);
  std::vector<ProfileOption> choice;
  for (size_t i = 0; i < profile.size(); ++i) choice.push_back(profile[i].options[solution.choice[i]]);
  return choice;
}

}  // namespace

RocketAllocation allocate_rocket(const std::vector<MatrixProfile>& profile, double ratio, const RocketAllocOptions& options) {
  LMSHRINK_CHECK(!profile.empty(), "rocket: the profile holds no matrices");
  LMSHRINK_CHECK(ratio > 0.0 && ratio < 1.0, "ratio: expected a fraction in (0, 1), got ", ratio);
  RocketAllocation allocation;
  for (const MatrixProfile& m : profile) allocation.dense_words += m.dense_words;
  if (options.alloc == Alloc::kUniform) {
    allocation.choice = uniform_choice(profile, ratio);
  } else {
    LMSHRINK_CHECK(options.alloc == Alloc::kMckp, "rocket.alloc: rocket takes mckp or uniform, got '", alloc_name(options.alloc), "'");
    allocation.choice = knapsack_choice(profile, ratio, allocation.dense_words, options, allocation.alpha_min);
  }
  for (const ProfileOption& o : allocation.choice) {
    allocation.kept_words += o.kept_words;
    allocation.total_error += o.error;
  }
  return allocation;
}

RocketAllocation profile_and_allocate(Transformer& model, const at::Tensor& calib_tokens, const CompressOptions& options,
                                      const std::vector<BlockStats>* cached_stats, const std::vector<MatrixProfile>* given,
                                      CompressResult& result) {
  auto start = std::chrono::steady_clock::now();
  result.profile = given ? *given
                         : profile_model(model, calib_tokens, options.targets, profile_settings(options), options.batch_size,
                                         cached_stats);
  if (!given && is_probed_metric(options.rocket.profile_metric)) {
    probe_profile_nll(model, calib_tokens, result.profile, cached_stats, options.batch_size, options.rocket,
                      options.dictionary.quant_group,
                      {options.rocket.nll_windows, options.batch_size, true, options.rocket.profile_metric});
  }
  result.profile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const RocketCompressOptions& r = options.rocket;
  // The α_min cap bounds relative errors against their mean; measured ΔNLL and KL costs are already on the loss's scale.
  bool error_cap = r.error_cap && !is_probed_metric(r.profile_metric);
  RocketAllocation allocation = allocate_rocket(result.profile, options.ratio, {r.alloc, r.allow_uncompressed, error_cap, r.precision});
  result.alpha_min = allocation.alpha_min;
  result.allocated_ratio = allocation.removed_ratio();
  return allocation;
}

}  // namespace lmshrink
