// The multi-choice knapsack against brute-force enumeration of every combination (random instances up to
// 6 matrices × 5 options), the achieved removed count against the target, the infeasible-target error, and the
// error cap of ALGORITHMS.md §3.5 on a hand-checked instance.
#include "lmshrink/compress/mckp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "lmshrink/compress/rocket_alloc.h"
#include "lmshrink/util/error.h"

namespace {

using namespace lmshrink;

// The best feasible error by enumeration, with the same integerised weights as the DP (⌊removed · scale⌋ steps,
// target ⌈target · scale⌉).
double brute_force(const std::vector<KnapsackItem>& items, double total, double target, int64_t precision) {
  double scale = precision / total;
  int64_t need = static_cast<int64_t>(std::ceil(target * scale - 1e-9));
  double best = std::numeric_limits<double>::infinity();
  std::vector<size_t> pick(items.size(), 0);
  while (true) {
    int64_t steps = 0;
    double error = 0.0;
    bool allowed = true;
    for (size_t i = 0; i < items.size(); ++i) {
      const KnapsackOption& o = items[i][pick[i]];
      allowed = allowed && o.allowed;
      steps += static_cast<int64_t>(std::floor(o.removed * scale + 1e-9));
      error += o.error;
    }
    if (allowed && steps >= need) best = std::min(best, error);
    size_t i = 0;
    while (i < items.size() && ++pick[i] == items[i].size()) pick[i++] = 0;
    if (i == items.size()) return best;
  }
}

std::vector<KnapsackItem> random_instance(std::mt19937_64& rng, size_t matrices, size_t options, double& total) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<KnapsackItem> items;
  total = 0.0;
  for (size_t i = 0; i < matrices; ++i) {
    double size = 100.0 + 900.0 * unit(rng);
    total += size;
    KnapsackItem item;
    for (size_t o = 0; o < options; ++o) item.push_back({0.1 * o, size * 0.7 * unit(rng), unit(rng), unit(rng) > 0.1});
    item[0].allowed = true;
    items.push_back(item);
  }
  return items;
}

TEST(MckpTest, DynamicProgrammingEqualsBruteForceOnRandomInstances) {
  std::mt19937_64 rng(7);
  int solved = 0;
  for (int trial = 0; trial < 200; ++trial) {
    size_t matrices = 1 + trial % 6, options = 2 + trial % 4;
    double total = 0.0;
    std::vector<KnapsackItem> items = random_instance(rng, matrices, options, total);
    double target = total * 0.3 * std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    int64_t precision = trial % 2 ? 1000 : 50000;
    double best = brute_force(items, total, target, precision);
    if (!std::isfinite(best)) {
      EXPECT_THROW(solve_mckp(items, total, target, precision), Error) << "trial " << trial;
      continue;
    }
    KnapsackSolution s = solve_mckp(items, total, target, precision);
    ++solved;
    EXPECT_NEAR(s.error, best, 1e-12) << "trial " << trial;
    double error = 0.0, removed = 0.0;
    for (size_t i = 0; i < items.size(); ++i) {
      EXPECT_TRUE(items[i][s.choice[i]].allowed);
      error += items[i][s.choice[i]].error;
      removed += items[i][s.choice[i]].removed;
    }
    EXPECT_NEAR(error, s.error, 1e-12);
    EXPECT_NEAR(removed, s.removed, 1e-9);
    EXPECT_GE(removed, target * (1 - 1e-12)) << "trial " << trial;  // ⌊·⌋ weights: the true count meets the target
    EXPECT_GE(s.achieved_steps, s.target_steps);
  }
  EXPECT_GT(solved, 150);
}

TEST(MckpTest, AchievedRemovedIsWithinOnePrecisionStepOfTheTarget) {
  // 30 matrices of 1000 words, each able to remove 0 .. 700 words in steps of 1; error convex in the removal, so the
  // optimum removes no more than it must.
  double total = 30000.0;
  std::vector<KnapsackItem> items(30);
  for (size_t i = 0; i < items.size(); ++i) {
    for (int removed = 0; removed <= 700; removed += 1 + static_cast<int>(i % 3)) {
      items[i].push_back({removed / 1000.0, static_cast<double>(removed), std::pow(removed / 1000.0, 2) * (1 + 0.1 * i)});
    }
  }
  for (double ratio : {0.2, 0.3, 0.4}) {
    KnapsackSolution s = solve_mckp(items, total, ratio * total, 50000);
    double step = total / 50000;
    EXPECT_GE(s.removed, ratio * total);
    EXPECT_LE(s.removed, ratio * total + step) << "ratio " << ratio;
  }
}

TEST(MckpTest, AnUnreachableTargetNamesTheLargestReachableFraction) {
  std::vector<KnapsackItem> items{{{0.0, 0.0, 0.0}, {0.1, 10.0, 1.0}}, {{0.0, 0.0, 0.0}, {0.1, 10.0, 1.0}}};
  try {
    solve_mckp(items, 200.0, 50.0, 50000);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("removes 0.25"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("most any combination removes is 0.1"), std::string::npos) << e.what();
  }
}

TEST(MckpTest, ATargetReachedByLessThanTheRoundingIsFoundAtAFinerPrecision) {
  // Three matrices each removing 3.4 of 100 words reach a target of 10 exactly (10.2), but at 10 steps every weight
  // rounds down to 0 steps; at 2560 steps (4^4 × 10) the weights are 87 each, 261 ≥ 256.
  std::vector<KnapsackItem> items(3, KnapsackItem{{0.0, 0.0, 0.0}, {0.5, 3.4, 1.0}});
  KnapsackSolution s = solve_mckp(items, 100.0, 10.0, 10);
  EXPECT_EQ(s.choice, (std::vector<int64_t>{1, 1, 1}));
  EXPECT_NEAR(s.removed, 10.2, 1e-12);
  EXPECT_THROW(solve_mckp(items, 100.0, 10.3, 10), Error);  // beyond the exact maximum: still an error
}

TEST(MckpTest, ErrorCapTakesTheSmallestSufficientAlphaAndDropsOutliers) {
  // Two matrices of 100 words, options at rates 0.1 / 0.2 / 0.3 (removed 10 / 20 / 30), target 0.2. ē at rate 0.2 is
  // (0.2 + 0.4) / 2 = 0.3. α = 1.0: matrix 0 takes rate 0.3 (0.3 ≤ 0.3), matrix 1 rate 0.1 (0.25 ≤ 0.3): 40 words,
  // the target. So α_min = 1 and matrix 1's options above 0.3 (rates 0.2, 0.3) are dropped.
  std::vector<KnapsackItem> items{
      {{0.0, 0.0, 0.0}, {0.1, 10.0, 0.1}, {0.2, 20.0, 0.2}, {0.3, 30.0, 0.3}},
      {{0.0, 0.0, 0.0}, {0.1, 10.0, 0.25}, {0.2, 20.0, 0.4}, {0.3, 30.0, 0.9}}};
  EXPECT_DOUBLE_EQ(apply_error_cap(items, 0.2, 200.0), 1.0);
  EXPECT_TRUE(items[0][3].allowed);
  EXPECT_TRUE(items[1][1].allowed);
  EXPECT_FALSE(items[1][2].allowed);
  EXPECT_FALSE(items[1][3].allowed);
  KnapsackSolution s = solve_mckp(items, 200.0, 40.0, 50000);
  EXPECT_EQ(s.choice, (std::vector<int64_t>{3, 1}));
}

TEST(MckpTest, ErrorCapNeedsALargerAlphaWhenTheGreedyFallsShort) {
  std::vector<KnapsackItem> items{{{0.1, 10.0, 0.1}, {0.2, 20.0, 0.2}}, {{0.1, 10.0, 0.3}, {0.2, 20.0, 0.45}}};
  // ē = (0.2 + 0.45) / 2 = 0.325; α = 1.0: 20 + 10 = 30 < 40; α = 1.4: 0.45 ≤ 0.455, 20 + 20 = 40.
  EXPECT_NEAR(apply_error_cap(items, 0.2, 200.0), 1.4, 1e-12);
}

TEST(MckpTest, ErrorCapKeepsACompressedOptionForEveryMatrixSoTheGreedyTargetStaysReachable) {
  // Calibration-weighted errors differ by an order of magnitude between matrices. ē at rate 0.2 = (0.02 + 0.4) / 2 =
  // 0.21; α = 1.0: matrix 0 takes rate 0.3 (0.03), matrix 1 has no option ≤ 0.21 and the greedy rule counts its
  // least-error one (rate 0.1): 30 + 10 = 40 words, the target. That option must stay allowed even though the
  // uncompressed one is, or the knapsack could remove at most 30.
  std::vector<KnapsackItem> items{
      {{0.0, 0.0, 0.0}, {0.1, 10.0, 0.01}, {0.2, 20.0, 0.02}, {0.3, 30.0, 0.03}},
      {{0.0, 0.0, 0.0}, {0.1, 10.0, 0.25}, {0.2, 20.0, 0.4}, {0.3, 30.0, 0.9}}};
  EXPECT_DOUBLE_EQ(apply_error_cap(items, 0.2, 200.0), 1.0);
  EXPECT_TRUE(items[1][1].allowed);
  EXPECT_FALSE(items[1][2].allowed);
  KnapsackSolution s = solve_mckp(items, 200.0, 40.0, 50000);
  EXPECT_EQ(s.choice, (std::vector<int64_t>{3, 1}));
}

TEST(RocketAllocTest, UniformTakesTheTargetRateAndMckpMeetsTheBudget) {
  std::vector<MatrixProfile> profile;
  for (int i = 0; i < 4; ++i) {
    MatrixProfile m{"m" + std::to_string(i), 10, 10, 100.0, {{0.0, 0.0, 0, 0, 100.0, 0.0}}};
    for (int r = 1; r <= 6; ++r) m.options.push_back({0.1 * r, 2.0, 5, 2, 100.0 - 10.0 * r, 0.01 * r * r * (1 + i)});
    profile.push_back(m);
  }
  RocketAllocation uniform = allocate_rocket(profile, 0.3, {Alloc::kUniform, true, true, 50000});
  for (const ProfileOption& o : uniform.choice) EXPECT_NEAR(o.rate, 0.3, 1e-12);
  RocketAllocation knapsack = allocate_rocket(profile, 0.3, {Alloc::kMckp, true, true, 50000});
  EXPECT_GE(knapsack.removed_ratio(), 0.3 - 1e-12);
  EXPECT_LE(knapsack.total_error, uniform.total_error);
  EXPECT_GT(knapsack.choice[0].rate, knapsack.choice[3].rate);  // the cheaper matrix gives more
  EXPECT_THROW(allocate_rocket(profile, 0.35, {Alloc::kUniform, true, true, 50000}), Error);  // not on the grid
  EXPECT_THROW(allocate_rocket(profile, 0.65, {Alloc::kMckp, true, true, 50000}), Error);     // beyond every option
  EXPECT_THROW(allocate_rocket({}, 0.3, {Alloc::kMckp, true, true, 50000}), Error);
}

}  // namespace
