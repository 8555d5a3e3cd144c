// The pooled-spectrum allocation (allocation.h): continuous rates meet the global budget exactly and respect
// the guards; integer sizes meet it within 0.1 % without exceeding it; matrices with a faster-decaying spectrum
// keep less; an unreachable budget is an error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lmshrink/compress/allocation.h"
#include "lmshrink/util/error.h"

namespace {

using namespace lmshrink;

// A d_out x d_in matrix whose singular values decay like j^-decay.
at::Tensor shaped(int64_t out, int64_t in, double decay, uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  int64_t r = std::min(out, in);
  at::Tensor u = std::get<0>(at::linalg_qr(torch::randn({out, r}, g, torch::kFloat64)));
  at::Tensor v = std::get<0>(at::linalg_qr(torch::randn({in, r}, g, torch::kFloat64)));
  at::Tensor sigma = torch::arange(1, r + 1, torch::kFloat64).pow(-decay);
  return torch::matmul(u * sigma, v.t());
}

std::vector<AllocMatrix> model_like() {
  std::vector<AllocMatrix> m;
  const int64_t shapes[][2] = {{128, 128}, {64, 128}, {344, 128}, {128, 344}, {128, 128}, {64, 128}, {344, 128}, {128, 344}};
  for (int i = 0; i < 8; ++i) {
    m.push_back(alloc_matrix("m" + std::to_string(i), shaped(shapes[i][0], shapes[i][1], 0.2 + 0.25 * i, 100 + i)));
  }
  return m;
}

double dense_total(const std::vector<AllocMatrix>& matrices) {
  double total = 0;
  for (const auto& m : matrices) total += static_cast<double>(m.d1 * m.d2);
  return total;
}

TEST(AllocationTest, RatesMeetTheBudgetExactlyWithinTheGuards) {
  auto matrices = model_like();
  for (double ratio : {0.2, 0.3, 0.5}) {
    AllocGuards guards{0.05, 0.8};
    std::vector<double> rates = pooled_spectrum_ratios(matrices, ratio, guards);
    double kept = 0;
    for (size_t i = 0; i < rates.size(); ++i) {
      EXPECT_GE(rates[i], guards.min_ratio - 1e-12);
      EXPECT_LE(rates[i], guards.max_ratio + 1e-12);
      kept += (1 - rates[i]) * static_cast<double>(matrices[i].d1 * matrices[i].d2);
    }
    EXPECT_NEAR(kept, (1 - ratio) * dense_total(matrices), 1e-6 * dense_total(matrices)) << ratio;
    EXPECT_GT(rates.back(), rates.front()) << "the fastest-decaying spectrum is compressed most";
  }
}

TEST(AllocationTest, IntegerSizesMeetTheGlobalBudgetWithinATenthOfAPercent) {
  auto matrices = model_like();
  for (double ratio : {0.2, 0.3, 0.4, 0.5}) {
    for (DictCost cost : {DictCost{Accounting::kFull}, DictCost{Accounting::kEffective}, DictCost{Accounting::kFull, 8, 128}}) {
      std::vector<double> rates = pooled_spectrum_ratios(matrices, ratio, {0.05, 0.8});
      for (bool cap : {false, true}) {
        std::vector<DictSize> sizes = sizes_within_budget(matrices, rates, ratio, 2.0, cost, cap);
        double words = 0;
        for (size_t i = 0; i < sizes.size(); ++i) {
          words += dict_words(matrices[i].d1, matrices[i].d2, 1, sizes[i], cost);
          EXPECT_LE(sizes[i].nonzeros, sizes[i].atoms);
          if (cap) {
            EXPECT_LE(sizes[i].atoms, matrices[i].d1);
          }
        }
        double budget = (1 - ratio) * dense_total(matrices);
        EXPECT_LE(words, budget) << ratio;
        EXPECT_GE(words, 0.999 * budget) << ratio;
      }
    }
  }
}

TEST(AllocationTest, UnreachableBudgetsAreErrors) {
  auto matrices = model_like();
  EXPECT_THROW(pooled_spectrum_ratios(matrices, 0.9, {0.0, 0.5}), Error);   // max guard keeps too much
  EXPECT_THROW(pooled_spectrum_ratios(matrices, 0.1, {0.3, 0.8}), Error);   // min guard removes too much
  EXPECT_THROW(pooled_spectrum_ratios(matrices, 0.3, {0.6, 0.4}), Error);   // min > max
  EXPECT_THROW(alloc_matrix("zero", torch::zeros({4, 4})), Error);
}

}  // namespace
