// Stats cache: a save/load round trip is exact (float64 Grams, counts), a missing key is nullopt.
#include "lmshrink/calib/stats_cache.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"

namespace {

TEST(StatsCacheTest, RoundTripIsExact) {
  torch::manual_seed(5);
  std::vector<lmshrink::BlockStats> stats(2);
  for (auto& block : stats) {
    block.qkv.accumulate(torch::randn({7, 4}, torch::kFloat64));
    block.o.accumulate(torch::randn({3, 2, 4}, torch::kFloat64));
    block.gate_up.accumulate(torch::randn({5, 4}, torch::kFloat64));
    block.down.accumulate(torch::randn({5, 9}, torch::kFloat64));
  }
  stats[1].down.skipped_batches = 3;
  stats[1].o = lmshrink::LayerStats{};  // never accumulated: stays undefined
  std::string dir = lmshrink::testing::temp_dir("stats_cache").string();
  EXPECT_FALSE(lmshrink::load_stats(dir, "key1").has_value());
  lmshrink::save_stats(dir, "key1", stats, {{"calib", "corpus=x"}});
  lmshrink::save_stats(dir, "key1", stats);  // replacing an entry works
  auto loaded = lmshrink::load_stats(dir, "key1");
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->size(), 2u);
  for (size_t l = 0; l < 2; ++l) {
    for (auto input : {lmshrink::LinearInput::kQkv, lmshrink::LinearInput::kO, lmshrink::LinearInput::kGateUp,
                       lmshrink::LinearInput::kDown}) {
      const auto& a = stats[l].of(input);
      const auto& b = (*loaded)[l].of(input);
      EXPECT_EQ(a.tokens, b.tokens);
      EXPECT_EQ(a.skipped_batches, b.skipped_batches);
      ASSERT_EQ(a.gram.defined(), b.gram.defined());
      if (a.gram.defined()) {
        EXPECT_TRUE(a.gram.equal(b.gram));
      }
    }
  }
  EXPECT_EQ((*loaded)[1].down.skipped_batches, 3);
}

}  // namespace
