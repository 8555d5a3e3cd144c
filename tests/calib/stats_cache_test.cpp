// Stats cache: a save/load round trip is exact (float64 Grams, counts), one file per block; a missing key or an entry
// of the older single-file layout is a miss; a missing block file is an error naming it.
#include "lmshrink/calib/stats_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <torch/torch.h>

#include "lmshrink/util/error.h"
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
  int64_t bytes = lmshrink::save_stats(dir, "key1", stats);  // replacing an entry works
  auto loaded_entry = lmshrink::load_stats(dir, "key1");
  ASSERT_TRUE(loaded_entry.has_value());
  EXPECT_EQ(loaded_entry->bytes, bytes);
  const std::string entry = lmshrink::stats_cache_entry(dir, "key1");
  EXPECT_EQ(bytes, static_cast<int64_t>(std::filesystem::file_size(entry + "/block-00000.safetensors") +
                                        std::filesystem::file_size(entry + "/block-00001.safetensors")));
  const std::vector<lmshrink::BlockStats>* loaded = &loaded_entry->blocks;
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

TEST(StatsCacheTest, OldLayoutIsAMissAndAMissingBlockIsNamed) {
  torch::manual_seed(6);
  std::vector<lmshrink::BlockStats> stats(3);
  for (auto& block : stats) block.qkv.accumulate(torch::randn({6, 4}, torch::kFloat64));
  std::string dir = lmshrink::testing::temp_dir("stats_cache_layout").string();
  std::string entry = lmshrink::stats_cache_entry(dir, "old");
  std::filesystem::create_directories(entry);
  std::ofstream(entry + "/stats.safetensors") << "single-file entry of an older lmshrink";
  EXPECT_FALSE(lmshrink::load_stats(dir, "old").has_value());
  lmshrink::save_stats(dir, "old", stats);  // the miss replaces it
  EXPECT_FALSE(std::filesystem::exists(entry + "/stats.safetensors"));
  ASSERT_TRUE(lmshrink::load_stats(dir, "old").has_value());
  std::filesystem::remove(entry + "/block-00001.safetensors");
  try {
    lmshrink::load_stats(dir, "old");
    FAIL() << "a missing block file loaded";
  } catch (const lmshrink::Error& e) {
    EXPECT_NE(std::string(e.what()).find("block-00001.safetensors is missing"), std::string::npos) << e.what();
  }
}

}  // namespace
