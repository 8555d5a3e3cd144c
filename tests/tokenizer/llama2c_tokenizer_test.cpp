// The llama2.c tokenizer against the golden prompts of both models, and the heap-based merge loop
// against a literal transcription of run.c's quadratic encode() written here.
#include "lmshrink/tokenizer/llama2c_tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lmshrink/util/error.h"
#include "test_support.h"

namespace {

using lmshrink::Llama2cTokenizer;
using lmshrink::testing::shared_path;

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// run.c encode(), transcribed: rescan every adjacent pair after each merge, strict > on scores.
std::vector<int32_t> run_c_encode(const Llama2cTokenizer& tok, const std::string& text) {
  std::unordered_map<std::string, int32_t> ids;
  for (int32_t i = tok.vocab_size() - 1; i >= 0; --i) ids[tok.piece(i)] = i;
  auto lookup = [&](const std::string& s) { auto it = ids.find(s); return it == ids.end() ? -1 : it->second; };
  std::vector<int32_t> tokens{1};
  if (!text.empty()) tokens.push_back(lookup(" "));
  std::string buffer;
  for (size_t c = 0; c < text.size(); ++c) {
    if ((static_cast<unsigned char>(text[c]) & 0xC0) != 0x80) buffer.clear();
    buffer += text[c];
    if (c + 1 < text.size() && (static_cast<unsigned char>(text[c + 1]) & 0xC0) == 0x80 && buffer.size() < 4) continue;
    int32_t id = lookup(buffer);
    if (id != -1) {
      tokens.push_back(id);
    } else {
      for (unsigned char b : buffer) tokens.push_back(b + 3);
    }
    buffer.clear();
  }
  while (true) {
    float best_score = -1e10f;
    int32_t best_id = -1, best_index = -1;
    for (size_t i = 0; i + 1 < tokens.size(); ++i) {
      int32_t id = lookup(tok.piece(tokens[i]) + tok.piece(tokens[i + 1]));
      if (id != -1 && tok.score(id) > best_score) {
        best_score = tok.score(id);
        best_id = id;
        best_index = static_cast<int32_t>(i);
      }
    }
    if (best_index == -1) break;
    tokens[best_index] = best_id;
    tokens.erase(tokens.begin() + best_index + 1);
  }
  return tokens;
}

TEST(Llama2cTokenizerTest, EncodesGoldenPromptsOfBothModels) {
  for (const auto& [tok_path, golden] :
       {std::pair{lmshrink::testing::stories_tok(), shared_path("models/stories260K/expected_greedy_t0_256steps.json")},
        std::pair{lmshrink::testing::aidreams_tok(), shared_path("models/aidreams260K/expected_greedy_t0_128steps.json")}}) {
    Llama2cTokenizer tok(tok_path);
    nlohmann::json expected = read_json(golden);
    EXPECT_EQ(tok.vocab_size(), 512);
    EXPECT_EQ(tok.encode(expected["prompt"].get<std::string>(), true, false),
              expected["prompt_tokens"].get<std::vector<int32_t>>());
  }
}

TEST(Llama2cTokenizerTest, DecodesGoldenTokensToGoldenText) {
  Llama2cTokenizer tok(lmshrink::testing::stories_tok());
  nlohmann::json expected = read_json(shared_path("models/stories260K/expected_greedy_t0_256steps.json"));
  EXPECT_EQ(tok.decode(expected["tokens"].get<std::vector<int32_t>>()), expected["text"].get<std::string>());
}

TEST(Llama2cTokenizerTest, HeapMergesEqualRunCQuadraticMerges) {
  Llama2cTokenizer tok(lmshrink::testing::stories_tok());
  std::ifstream in(shared_path("models/stories260K/eval_tinystories_valid_6stories.txt"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text = text.substr(0, 3000) + " naïve café — 日本語 🙂 tabs\tand\nnewlines";
  EXPECT_EQ(tok.encode(text, true, false), run_c_encode(tok, text));
}

TEST(Llama2cTokenizerTest, ByteFallbackRoundTripsUtf8) {
  Llama2cTokenizer tok(lmshrink::testing::stories_tok());
  std::string text = "Zoë saw 日本 🙂!";
  std::vector<int32_t> ids = tok.encode(text, true, true);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(ids.back(), 2);
  ids.pop_back();
  EXPECT_EQ(tok.decode(ids), text);  // the dummy-prefix space is stripped after BOS
}

TEST(Llama2cTokenizerTest, EmptyTextHasNoDummyPrefix) {
  Llama2cTokenizer tok(lmshrink::testing::stories_tok());
  EXPECT_EQ(tok.encode("", true, false), std::vector<int32_t>{1});
}

TEST(Llama2cTokenizerTest, TruncatedFileIsAnError) {
  std::string source = lmshrink::testing::slurp(lmshrink::testing::stories_tok());
  auto dir = lmshrink::testing::temp_dir("tok_truncated");
  std::string path = (dir / "tok.bin").string();
  std::ofstream(path, std::ios::binary).write(source.data(), source.size() - 3);
  EXPECT_THROW(Llama2cTokenizer{path}, lmshrink::Error);
}

}  // namespace
