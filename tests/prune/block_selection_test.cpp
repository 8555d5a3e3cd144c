// Block selection: angular distances and Block Influence on stories260K equal a float64 loop over
// hidden states from an explicit block-by-block forward (last-token and all-token); the greedy window
// choice takes the smallest distances without overlap and merges touching windows on request;
// impossible requests are errors.
#include "lmshrink/prune/block_selection.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "lmshrink/io/llama2c.h"
#include "lmshrink/prune/block_distance.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"
#include "test_support.h"

namespace {

using lmshrink::BlockRange;

at::Tensor random_tokens(int64_t vocab, int64_t n, int64_t seq_len) {
  torch::manual_seed(5);
  return torch::randint(0, vocab, {n, seq_len}, torch::kInt64);
}

// s_0 = embeddings, s_{j+1} = output of layer j, from embed() and block_forward() on the whole batch.
std::vector<at::Tensor> residual_states(const lmshrink::Transformer& model, const at::Tensor& tokens) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> states{model.embed(tokens)};
  for (int64_t layer = 0; layer < model.config().num_layers; ++layer) {
    states.push_back(model.block_forward(layer, states.back(), 0, nullptr));
  }
  return states;
}

// Plain float64 loop: mean over rows of f(cos(a_row, b_row)).
double mean_over_rows(const at::Tensor& a, const at::Tensor& b, bool angular) {
  at::Tensor a64 = a.to(torch::kFloat64).contiguous(), b64 = b.to(torch::kFloat64).contiguous();
  double total = 0.0;
  for (int64_t row = 0; row < a64.size(0); ++row) {
    double dot = 0.0, na = 0.0, nb = 0.0;
    for (int64_t i = 0; i < a64.size(1); ++i) {
      double x = a64[row][i].item<double>(), y = b64[row][i].item<double>();
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    double cosine = std::max(-1.0, std::min(1.0, dot / std::sqrt(na * nb)));
    total += angular ? std::acos(cosine) / M_PI : cosine;
  }
  return total / a64.size(0);
}

TEST(PruneSelectionTest, AngularDistancesEqualAFloat64LoopOnLastAndAllTokens) {
  lmshrink::set_progress_quiet(true);
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  at::Tensor tokens = random_tokens(model->config().vocab_size, 5, 12);
  std::vector<at::Tensor> states = residual_states(*model, tokens);
  for (int64_t blocks : {1, 2, 4}) {
    std::vector<double> last = lmshrink::angular_distances(*model, tokens, blocks, lmshrink::DistanceTokens::kLast, 2);
    std::vector<double> all = lmshrink::angular_distances(*model, tokens, blocks, lmshrink::DistanceTokens::kAll, 3);
    ASSERT_EQ(static_cast<int64_t>(last.size()), 5 - blocks);
    for (int64_t l = 0; l + blocks < 5; ++l) {
      const at::Tensor& h_l = states[l + 1];           // output of layer l
      const at::Tensor& h_ln = states[l + 1 + blocks]; // output of layer l + blocks
      double expected_last = mean_over_rows(h_l.select(1, 11), h_ln.select(1, 11), true);
      double expected_all = mean_over_rows(h_l.reshape({-1, 64}), h_ln.reshape({-1, 64}), true);
      EXPECT_NEAR(last[l], expected_last, 1e-6) << "blocks " << blocks << " window " << l;
      EXPECT_NEAR(all[l], expected_all, 1e-6) << "blocks " << blocks << " window " << l;
    }
  }
}

TEST(PruneSelectionTest, BlockInfluenceIsOneMinusMeanCosineOfEachLayersInputAndOutput) {
  lmshrink::set_progress_quiet(true);
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  at::Tensor tokens = random_tokens(model->config().vocab_size, 3, 10);
  std::vector<at::Tensor> states = residual_states(*model, tokens);
  std::vector<double> bi = lmshrink::block_influence(*model, tokens, lmshrink::DistanceTokens::kAll, 2);
  ASSERT_EQ(bi.size(), 5u);
  for (int64_t i = 0; i < 5; ++i) {
    double expected = 1.0 - mean_over_rows(states[i].reshape({-1, 64}), states[i + 1].reshape({-1, 64}), false);
    EXPECT_NEAR(bi[i], expected, 1e-6) << "layer " << i;
  }
}

TEST(PruneSelectionTest, GreedyWindowsAreNonOverlappingSmallestFirstAndMergeWhenTouching) {
  // windows l = 0..5 of 2 blocks (removing l+1, l+2), on a 8-layer model
  std::vector<double> d{0.9, 0.2, 0.1, 0.3, 0.05, 0.8};
  auto one = lmshrink::select_block_ranges(d, 2, 1, false);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].first, 5);  // window 4 -> blocks 5-6
  EXPECT_EQ(one[0].last, 6);
  // second smallest (0.1, window 2 -> 3-4) does not overlap 5-6: touching
  auto two = lmshrink::select_block_ranges(d, 2, 2, false);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(lmshrink::describe(two[0]), "3-4");
  EXPECT_EQ(lmshrink::describe(two[1]), "5-6");
  auto merged = lmshrink::select_block_ranges(d, 2, 2, true);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(lmshrink::describe(merged[0]), "3-6");
  // three: 0.2 (window 1 -> 2-3) overlaps 3-4, 0.3 (window 3 -> 4-5) overlaps, 0.8 (window 5 -> 6-7) overlaps,
  // 0.9 (window 0 -> 1-2) fits
  auto three = lmshrink::select_block_ranges(d, 2, 3, false);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(lmshrink::describe(three[0]), "1-2");
}

TEST(PruneSelectionTest, ImpossibleOrOverlappingRequestsAreErrors) {
  std::vector<double> d{0.5, 0.1, 0.5};  // 4-layer model, windows of 1... here blocks 2 on 5 layers: l = 0..2
  EXPECT_THROW(lmshrink::select_block_ranges(d, 2, 3, false), lmshrink::Error);  // 6 blocks > 4 removable
  // 2 x 2 fit only as 1-2, 3-4, but greedy takes window 1 (2-3) first
  try {
    lmshrink::select_block_ranges(d, 2, 2, false);
    FAIL() << "expected an error";
  } catch (const lmshrink::Error& e) {
    EXPECT_NE(std::string(e.what()).find("overlap"), std::string::npos) << e.what();
  }
  EXPECT_THROW(lmshrink::check_block_ranges({{1, 2}, {2, 3}}, 5, 1), lmshrink::Error);  // overlapping
  EXPECT_THROW(lmshrink::check_block_ranges({{0, 1}}, 5, 1), lmshrink::Error);          // block 0 for replaceme
  EXPECT_THROW(lmshrink::check_block_ranges({{0, 4}}, 5, 0), lmshrink::Error);          // everything
  EXPECT_NO_THROW(lmshrink::check_block_ranges({{1, 2}, {3, 3}}, 5, 1));
}

TEST(PruneSelectionTest, LowestInfluenceLayersAreSortedByIndex) {
  auto layers = lmshrink::lowest_influence_layers({0.5, 0.01, 0.3, 0.02, 0.9}, 2);
  EXPECT_EQ(layers, (std::vector<int64_t>{1, 3}));
  EXPECT_THROW(lmshrink::lowest_influence_layers({0.5, 0.1}, 2), lmshrink::Error);
  EXPECT_THROW(lmshrink::lowest_influence_layers({0.5, 0.1}, 0), lmshrink::Error);
}

}  // namespace
