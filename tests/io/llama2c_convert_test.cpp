// lmshrink convert: the Hugging Face directory made from stories260K runs to the same logits and
// perplexity as the llama2.c original, its files are standard, and the output is atomic.
#include "lmshrink/io/llama2c_convert.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lmshrink/eval/perplexity.h"
#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/safetensors.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/tokenizer/load.h"
#include "lmshrink/util/error.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;

std::string converted_stories(const std::string& tag) {
  fs::path out = lmshrink::testing::temp_dir("convert_" + tag) / "stories260K-hf";
  lmshrink::convert_llama2c_to_hf(lmshrink::testing::stories_bin(), lmshrink::testing::stories_tok(), out.string(), false);
  return out.string();
}

TEST(Llama2cConvertTest, ConvertedStoriesGivesTheSameLogitsAndPerplexity) {
  auto original = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  auto converted = lmshrink::load_model(converted_stories("logits")).model;
  EXPECT_EQ(converted->config().source_format, "hf");
  std::vector<int64_t> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(i == 0 ? 1 : 3 + (i * 131) % 509);
  at::Tensor tokens = torch::tensor(ids).view({1, -1});
  EXPECT_LE((original->forward(tokens) - converted->forward(tokens)).abs().max().item<double>(), 1e-5);

  lmshrink::Llama2cTokenizer tok(lmshrink::testing::stories_tok());
  std::string text = lmshrink::testing::slurp(lmshrink::testing::shared_path("models/stories260K/eval_tinystories_valid_6stories.txt"));
  std::vector<int32_t> encoded = tok.encode(text, true, false);
  for (auto protocol : {lmshrink::PplProtocol::kGptq, lmshrink::PplProtocol::kLlamaCpp}) {
    double a = lmshrink::perplexity(*original, encoded, protocol, 256).ppl;
    double b = lmshrink::perplexity(*converted, encoded, protocol, 256).ppl;
    EXPECT_NEAR(a, b, 1e-5 * a);
  }
}

TEST(Llama2cConvertTest, WritesStandardHfFiles) {
  fs::path dir = converted_stories("files");
  for (const char* name : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
    EXPECT_TRUE(fs::exists(dir / name)) << name;
  }
  std::ifstream config_in(dir / "config.json");
  nlohmann::json config = nlohmann::json::parse(config_in);
  EXPECT_EQ(config["architectures"][0], "LlamaForCausalLM");
  EXPECT_EQ(config["num_key_value_heads"], 4);
  EXPECT_EQ(config["tie_word_embeddings"], true);
  EXPECT_EQ(config["max_position_embeddings"], 512);
  lmshrink::SafetensorsFile weights((dir / "model.safetensors").string());
  EXPECT_FALSE(weights.contains("lm_head.weight"));  // tied
  EXPECT_EQ(weights.tensors().size(), 1u + 5 * 9 + 1);
  std::ifstream tok_in(dir / "tokenizer.json");
  nlohmann::json tok = nlohmann::json::parse(tok_in);
  EXPECT_EQ(tok["model"]["type"], "BPE");
  EXPECT_EQ(tok["model"]["vocab"].size(), 512u);
  EXPECT_EQ(tok["model"]["vocab"]["\xE2\x96\x81the"], 265);  // " the" in tok512.bin, with the SentencePiece space
  // tok512.bin has 151 multi-character pieces with 165 splits into two known pieces (counted
  // independently with a Python one-liner over the file).
  EXPECT_EQ(tok["model"]["merges"].size(), 165u);
  EXPECT_EQ(tok["model"]["merges"][0], (nlohmann::json{"\xE2\x96\x81", "t"}));  // the best-scored piece, "▁t"
}

TEST(Llama2cConvertTest, OutputIsAtomicAndNeverOverwritten) {
  fs::path dir = converted_stories("atomic");
  EXPECT_THROW(lmshrink::convert_llama2c_to_hf(lmshrink::testing::stories_bin(), lmshrink::testing::stories_tok(),
                                               dir.string(), false),
               lmshrink::Error);
  fs::path failed = dir.parent_path() / "bad-out";
  EXPECT_THROW(lmshrink::convert_llama2c_to_hf(lmshrink::testing::stories_bin(),
                                               lmshrink::testing::shared_path("tokenizers/llama2-sentencepiece/tokenizer.bin"),
                                               failed.string(), false),
               lmshrink::Error);  // vocab mismatch: nothing may be left behind
  for (const auto& entry : fs::directory_iterator(dir.parent_path())) {
    EXPECT_EQ(entry.path().filename().string().find("bad-out"), std::string::npos) << entry.path();
  }
}

}  // namespace

namespace {

TEST(AtomicDirectoryTest, AbandonedOutputLeavesNothingBehind) {
  fs::path parent = lmshrink::testing::temp_dir("atomic_dir");
  fs::path target = parent / "model";
  {
    lmshrink::AtomicDirectory out(target.string(), false);
    std::ofstream(fs::path(out.staging_path()) / "config.json") << "{}";
    // destroyed without commit(), as when a later step throws
  }
  EXPECT_TRUE(fs::is_empty(parent));
  {
    lmshrink::AtomicDirectory out(target.string(), false);
    std::ofstream(fs::path(out.staging_path()) / "config.json") << "{}";
    out.commit();
  }
  EXPECT_TRUE(fs::exists(target / "config.json"));
  EXPECT_EQ(std::distance(fs::directory_iterator(parent), fs::directory_iterator()), 1);
}

TEST(AtomicDirectoryTest, MissingParentsAreCreatedAndAFailedStartLeavesNoMarker) {
  fs::path parent = lmshrink::testing::temp_dir("atomic_parents");
  {
    lmshrink::AtomicDirectory out((parent / "a" / "b" / "model").string(), false);
    out.commit();
  }
  EXPECT_TRUE(fs::is_directory(parent / "a" / "b" / "model"));
  std::ofstream(parent / "file") << "x";
  EXPECT_THROW(lmshrink::AtomicDirectory((parent / "file" / "model").string(), false), lmshrink::Error);  // not a folder
  EXPECT_EQ(std::distance(fs::directory_iterator(parent), fs::directory_iterator()), 2) << "only a/ and file";
}

}  // namespace

namespace {

TEST(Llama2cConvertTest, ConvertedTokenizerJsonEncodesLikeTok512) {
  fs::path dir = converted_stories("tokenizer");
  std::unique_ptr<lmshrink::Tokenizer> hf = lmshrink::load_tokenizer_file((dir / "tokenizer.json").string());
  lmshrink::Llama2cTokenizer original(lmshrink::testing::stories_tok());
  std::string text = lmshrink::testing::slurp(lmshrink::testing::shared_path("models/stories260K/eval_tinystories_valid_6stories.txt"));
  std::vector<int32_t> expected = original.encode(text, true, false);
  EXPECT_EQ(hf->encode(text, true, false), expected);
  EXPECT_EQ(hf->decode(expected), original.decode(expected));
  std::string unicode = "Zoë and 日本 🙂 went to the park.";
  EXPECT_EQ(hf->encode(unicode, true, false), original.encode(unicode, true, false));  // byte fallback
  EXPECT_EQ(hf->bos_id(), 1);
  EXPECT_EQ(hf->eos_id(), 2);
}

}  // namespace
