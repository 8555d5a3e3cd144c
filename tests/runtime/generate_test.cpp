// Greedy generation reproduces the golden llama2.c run.c outputs token for token, and sampling
// follows run.c's sampler.
#include "lmshrink/runtime/generate.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lmshrink/io/llama2c.h"
#include "lmshrink/runtime/sampler.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "test_support.h"

namespace {

void expect_golden(const std::string& model_path, const std::string& tok_path, const std::string& golden_path) {
  std::ifstream in(golden_path);
  nlohmann::json golden = nlohmann::json::parse(in);
  auto model = lmshrink::load_llama2c(model_path);
  lmshrink::Llama2cTokenizer tok(tok_path);
  std::vector<int32_t> prompt = tok.encode(golden["prompt"].get<std::string>(), true, false);
  int64_t new_tokens = lmshrink::new_tokens_for_steps(golden["steps"].get<int64_t>(), prompt.size());
  lmshrink::GenerationResult result = lmshrink::generate(*model, prompt, new_tokens, lmshrink::SamplingOptions{});
  EXPECT_EQ(result.tokens, golden["tokens"].get<std::vector<int32_t>>());
  EXPECT_EQ(tok.decode(result.tokens), golden["text"].get<std::string>());
}

TEST(GenerateTest, Stories260KGreedyMatchesGolden256Steps) {
  using namespace lmshrink::testing;
  expect_golden(stories_bin(), stories_tok(), shared_path("models/stories260K/expected_greedy_t0_256steps.json"));
}

TEST(GenerateTest, Aidreams260KGreedyMatchesGolden128Steps) {
  using namespace lmshrink::testing;
  expect_golden(aidreams_bin(), aidreams_tok(), shared_path("models/aidreams260K/expected_greedy_t0_128steps.json"));
}

TEST(GenerateTest, SamplingIsSeededAndStaysInTheNucleus) {
  std::vector<float> logits{0.0f, 5.0f, 4.9f, -10.0f};
  lmshrink::SamplingOptions options{1.0f, 0.5f, 7};
  lmshrink::Sampler a(options), b(options);
  for (int i = 0; i < 50; ++i) {
    int32_t x = a.sample(logits);
    EXPECT_EQ(x, b.sample(logits));
    EXPECT_EQ(x, 1);  // p(1) ~ 0.52 > 0.5: the nucleus holds token 1 alone
  }
  lmshrink::Sampler greedy(lmshrink::SamplingOptions{});
  EXPECT_EQ(greedy.sample(logits), 1);
}

TEST(GenerateTest, GenerationStopsAtTheContext) {
  using namespace lmshrink::testing;
  auto model = lmshrink::load_llama2c(aidreams_bin());
  auto result = lmshrink::generate(*model, {1, 303}, 1000, lmshrink::SamplingOptions{});
  EXPECT_LE((int64_t)result.tokens.size(), 129);
}

}  // namespace
