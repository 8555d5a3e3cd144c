// Gram accumulation: equals a float64 loop over tokens; NaN/Inf batches are skipped and counted.
#include "lmshrink/calib/gram.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

namespace {

// sum over tokens t of x_t^T x_t, as a plain double loop.
std::vector<double> reference_gram(const std::vector<at::Tensor>& batches, int64_t in) {
  std::vector<double> g(in * in, 0.0);
  for (const auto& batch : batches) {
    at::Tensor rows = batch.reshape({-1, in}).to(torch::kFloat64).contiguous();
    const double* p = rows.data_ptr<double>();
    for (int64_t t = 0; t < rows.size(0); ++t) {
      for (int64_t i = 0; i < in; ++i) {
        for (int64_t j = 0; j < in; ++j) g[i * in + j] += p[t * in + i] * p[t * in + j];
      }
    }
  }
  return g;
}

TEST(GramTest, AccumulationEqualsFloat64LoopOverTokens) {
  torch::manual_seed(7);
  const int64_t in = 6;
  std::vector<at::Tensor> batches = {torch::randn({2, 5, in}), torch::randn({3, in}), torch::randn({1, 4, in}) * 100};
  lmshrink::LayerStats stats;
  for (const auto& b : batches) stats.accumulate(b);
  std::vector<double> expected = reference_gram(batches, in);
  ASSERT_EQ(stats.gram.scalar_type(), torch::kFloat64);
  ASSERT_EQ(stats.gram.sizes(), (std::vector<int64_t>{in, in}));
  EXPECT_EQ(stats.tokens, 10 + 3 + 4);
  EXPECT_EQ(stats.skipped_batches, 0);
  at::Tensor gram = stats.gram.contiguous();
  for (int64_t k = 0; k < in * in; ++k) {
    EXPECT_NEAR(gram.data_ptr<double>()[k], expected[k], 1e-9 * (1 + std::abs(expected[k]))) << k;
  }
  // ASVD's abs-mean: a plain loop over every token of every batch.
  at::Tensor abs_mean = stats.channel_abs_mean().contiguous();
  for (int64_t j = 0; j < in; ++j) {
    double sum = 0.0;
    for (const auto& b : batches) {
      at::Tensor rows = b.reshape({-1, in}).to(torch::kFloat64).contiguous();
      for (int64_t t = 0; t < rows.size(0); ++t) sum += std::abs(rows.data_ptr<double>()[t * in + j]);
    }
    EXPECT_NEAR(abs_mean.data_ptr<double>()[j], sum / 17.0, 1e-12 * (1 + sum)) << j;
  }
}

TEST(GramTest, NanAndInfBatchesAreSkippedAndCounted) {
  torch::manual_seed(8);
  at::Tensor good = torch::randn({4, 3});
  at::Tensor with_nan = torch::randn({4, 3});
  with_nan[1][2] = std::numeric_limits<float>::quiet_NaN();
  at::Tensor with_inf = torch::randn({2, 3});
  with_inf[0][0] = std::numeric_limits<float>::infinity();
  lmshrink::LayerStats stats;
  stats.accumulate(with_nan);
  stats.accumulate(good);
  stats.accumulate(with_inf);
  EXPECT_EQ(stats.skipped_batches, 2);
  EXPECT_EQ(stats.tokens, 4);
  at::Tensor g64 = good.to(torch::kFloat64);
  EXPECT_TRUE(torch::allclose(stats.gram, g64.t().matmul(g64), 1e-12, 1e-12));
}

TEST(GramTest, BlockStatsOfNamesEveryInput) {
  lmshrink::BlockStats stats;
  EXPECT_EQ(&stats.of(lmshrink::LinearInput::kQkv), &stats.qkv);
  EXPECT_EQ(&stats.of(lmshrink::LinearInput::kO), &stats.o);
  EXPECT_EQ(&stats.of(lmshrink::LinearInput::kGateUp), &stats.gate_up);
  EXPECT_EQ(&stats.of(lmshrink::LinearInput::kDown), &stats.down);
}

}  // namespace
