// Calibration corpora and sampling: readers and presets, seeded determinism, blocks are contiguous
// slices of the BOS-prefixed token stream, random-offset samples start with BOS, clear errors.
#include "lmshrink/calib/sampling.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <set>

#include "lmshrink/calib/corpus.h"
#include "lmshrink/tokenizer/load.h"
#include "lmshrink/util/error.h"
#include "test_support.h"

namespace {

std::string data_dir() { return lmshrink::testing::shared_path("data"); }

std::string write_file(const std::string& tag, const std::string& name, const std::string& text) {
  auto path = (lmshrink::testing::temp_dir("calib_" + tag) / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::vector<std::string> small_docs() {
  return {"Once upon a time there was a little cat.", "The dog ran to the park and played with a ball.",
          "Lily liked to draw pictures of the sun.", "Tom had a red car. He drove it every day.",
          "The bird sang a happy song in the tree."};
}

TEST(CorpusTest, PresetsResolveAndReadTheirDocuments) {
  EXPECT_EQ(lmshrink::read_corpus("tinystories", data_dir()).size(), 1258u);  // data/README.md
  EXPECT_EQ(lmshrink::read_corpus("c4-train", data_dir()).size(), 1041u);
  EXPECT_EQ(lmshrink::read_corpus("c4-validation", data_dir()).size(), 1025u);
  EXPECT_EQ(lmshrink::read_corpus("wikitext2", data_dir()).size(), 1u);  // whole file, one document
  EXPECT_EQ(lmshrink::read_corpus("ptb", data_dir()).size(), 1u);
  auto stories = lmshrink::read_corpus("tinystories", data_dir());
  EXPECT_EQ(stories[0].rfind("Once upon a time, in a big forest", 0), 0u);
  EXPECT_EQ(stories.back().find("<|endoftext|>"), std::string::npos);
}

TEST(CorpusTest, ReadsJsonlStoriesAndRawTextAndRejectsEmpty) {
  auto jsonl = write_file("jsonl", "c.jsonl", "{\"text\": \"first doc\"}\n\n{\"text\": \"second\\ndoc\"}\n{\"text\": \"  \"}\n");
  EXPECT_EQ(lmshrink::read_corpus(jsonl), (std::vector<std::string>{"first doc", "second\ndoc"}));
  auto stories = write_file("stories", "s.txt", "A story.\nLine two.\n<|endoftext|>\nB story.\n<|endoftext|>\n");
  EXPECT_EQ(lmshrink::read_corpus(stories), (std::vector<std::string>{"A story.\nLine two.", "B story."}));
  auto raw = write_file("raw", "r.txt", " = Title = \n\nSome text <|endoftext|> inline.\n");
  EXPECT_EQ(lmshrink::read_corpus(raw).size(), 1u);
  auto empty = write_file("empty", "e.txt", "\n  \n");
  EXPECT_THROW(lmshrink::read_corpus(empty), lmshrink::Error);
  auto bad = write_file("bad", "b.jsonl", "{\"text\": \"ok\"}\nnot json\n");
  try {
    lmshrink::read_corpus(bad);
    FAIL() << "expected an Error";
  } catch (const lmshrink::Error& e) {
    EXPECT_NE(std::string(e.what()).find(":2:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(lmshrink::read_corpus("no-such-preset-or-file"), lmshrink::Error);
}

TEST(SamplingTest, BlocksAreSeededContiguousSlicesOfTheBosPrefixedStream) {
  auto tokenizer = lmshrink::load_tokenizer_file(lmshrink::testing::stories_tok());
  auto docs = small_docs();
  std::vector<int64_t> stream;
  for (const auto& doc : docs) {
    auto ids = tokenizer->encode(doc, true, false);
    stream.insert(stream.end(), ids.begin(), ids.end());
  }
  lmshrink::CalibSpec spec{"small", "blocks", 4, 8, 3};
  int64_t n_blocks = static_cast<int64_t>(stream.size()) / spec.seq_len;
  ASSERT_GE(n_blocks, 6);
  at::Tensor a = lmshrink::sample_calibration(docs, *tokenizer, spec);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{4, 8}));
  ASSERT_EQ(a.scalar_type(), torch::kInt64);
  EXPECT_TRUE(a.equal(lmshrink::sample_calibration(docs, *tokenizer, spec)));
  std::set<int64_t> used;
  for (int64_t s = 0; s < 4; ++s) {
    int64_t found = -1;
    for (int64_t b = 0; b < n_blocks; ++b) {
      at::Tensor block = torch::tensor(std::vector<int64_t>(stream.begin() + b * 8, stream.begin() + b * 8 + 8));
      if (a[s].equal(block)) found = b;
    }
    EXPECT_GE(found, 0) << "row " << s << " is not a block of the stream";
    used.insert(found);
  }
  EXPECT_EQ(used.size(), 4u);  // a permutation: no block twice
  bool differs = false;
  for (uint64_t seed = 4; seed < 8 && !differs; ++seed) {
    spec.seed = seed;
    differs = !a.equal(lmshrink::sample_calibration(docs, *tokenizer, spec));
  }
  EXPECT_TRUE(differs);
}

TEST(SamplingTest, TooShortCorpusNamesHowManyBlocksThereAre) {
  auto tokenizer = lmshrink::load_tokenizer_file(lmshrink::testing::stories_tok());
  lmshrink::CalibSpec spec{"small", "blocks", 100, 16, 0};
  try {
    lmshrink::sample_calibration(small_docs(), *tokenizer, spec);
    FAIL() << "expected an Error";
  } catch (const lmshrink::Error& e) {
    EXPECT_NE(std::string(e.what()).find("blocks of 16, fewer than the 100"), std::string::npos) << e.what();
  }
  spec.sampling = "random-offset";
  spec.seq_len = 200;  // a 10 * seq_len character window of this corpus holds fewer than 200 tokens
  EXPECT_THROW(lmshrink::sample_calibration(small_docs(), *tokenizer, spec), lmshrink::Error);
  spec.sampling = "nope";
  EXPECT_THROW(lmshrink::sample_calibration(small_docs(), *tokenizer, spec), lmshrink::Error);
  spec = lmshrink::CalibSpec{"small", "blocks", 1, 0, 0};
  EXPECT_THROW(lmshrink::sample_calibration(small_docs(), *tokenizer, spec), lmshrink::Error);
}

TEST(SamplingTest, RandomOffsetSamplesStartWithBosAndAreSeeded) {
  auto tokenizer = lmshrink::load_tokenizer_file(lmshrink::testing::stories_tok());
  auto docs = lmshrink::read_corpus("tinystories", data_dir());
  lmshrink::CalibSpec spec{"tinystories", "random-offset", 6, 32, 3};
  at::Tensor a = lmshrink::sample_calibration(docs, *tokenizer, spec);
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{6, 32}));
  EXPECT_TRUE(a.select(1, 0).eq(tokenizer->bos_id()).all().item<bool>());
  EXPECT_TRUE(a.equal(lmshrink::sample_calibration(docs, *tokenizer, spec)));
  spec.seed = 4;
  EXPECT_FALSE(a.equal(lmshrink::sample_calibration(docs, *tokenizer, spec)));
}

TEST(SamplingTest, DescribeAndCacheKeyAreStable) {
  lmshrink::CalibSpec spec{"tinystories", "blocks", 256, 512, 0};
  EXPECT_EQ(lmshrink::describe(spec), "corpus=tinystories sampling=blocks n_samples=256 seq_len=512 seed=0");
  std::string key = lmshrink::cache_key("/models/stories260K", spec);
  EXPECT_EQ(key, lmshrink::cache_key("/models/stories260K", spec));
  EXPECT_EQ(key.find('/'), std::string::npos);
  EXPECT_EQ(key.rfind("stories260K-tinystories-blocks-n256-s512-", 0), 0u) << key;
  spec.seed = 1;
  EXPECT_NE(key, lmshrink::cache_key("/models/stories260K", spec));
  std::mt19937_64 rng(0);  // the documented generator: first draw of mt19937_64 seeded 0
  EXPECT_EQ(rng(), 2947667278772165694ull);
}

}  // namespace
