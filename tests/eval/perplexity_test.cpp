// Perplexity protocols: the closed form of a uniform model (ppl = vocab size exactly), window and
// scored-token counts, and a plain per-window loop reference on a real model.
#include "lmshrink/eval/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "lmshrink/io/llama2c.h"
#include "lmshrink/model/synthetic.h"
#include "lmshrink/util/error.h"
#include "test_support.h"

namespace {

using lmshrink::PplProtocol;

// All weights zero: every logit is 0, so each prediction has probability 1/vocab.
std::unique_ptr<lmshrink::Transformer> uniform_model(int64_t vocab) {
  lmshrink::ModelConfig c;
  c.hidden_size = 16, c.intermediate_size = 32, c.num_layers = 2, c.num_heads = 4, c.num_kv_heads = 2;
  c.head_dim = 4, c.vocab_size = vocab, c.max_position_embeddings = 64;
  auto model = lmshrink::make_synthetic_model(c, 1);
  torch::NoGradGuard no_grad;
  const_cast<at::Tensor&>(model->embed_tokens()).zero_();
  return model;
}

std::vector<int32_t> ids(int64_t count, int64_t vocab) {
  std::vector<int32_t> tokens{1};
  for (int64_t i = 1; i < count; ++i) tokens.push_back(static_cast<int32_t>(3 + (i * 7919) % (vocab - 3)));
  return tokens;
}

TEST(PerplexityTest, UniformModelHasPerplexityEqualToVocabSize) {
  auto model = uniform_model(100);
  for (PplProtocol protocol : {PplProtocol::kGptq, PplProtocol::kLlamaCpp}) {
    lmshrink::PerplexityResult r = lmshrink::perplexity(*model, ids(333, 100), protocol, 32, 3);
    EXPECT_NEAR(r.ppl, 100.0, 1e-3);
    EXPECT_NEAR(r.nll, std::log(100.0), 1e-5);
    EXPECT_EQ(r.windows, 10);  // 333 / 32, remainder dropped
  }
}

TEST(PerplexityTest, ScoredTokenCountsFollowTheProtocols) {
  auto model = uniform_model(50);
  auto gptq = lmshrink::perplexity(*model, ids(200, 50), PplProtocol::kGptq, 40);
  EXPECT_EQ(gptq.tokens_scored, 5 * 39);  // every prediction in each window
  auto llamacpp = lmshrink::perplexity(*model, ids(200, 50), PplProtocol::kLlamaCpp, 40);
  EXPECT_EQ(llamacpp.tokens_scored, 5 * (40 - 1 - 20));  // llama.cpp: n_ctx - 1 - n_ctx/2 per chunk
}

// Plain reference: one window at a time, NLL summed position by position in double.
double reference_nll(const lmshrink::Transformer& model, const std::vector<int32_t>& tokens, int64_t seq_len,
                     bool llamacpp) {
  double sum = 0;
  int64_t count = 0;
  for (int64_t w = 0; w + seq_len <= (int64_t)tokens.size(); w += seq_len) {
    std::vector<int64_t> window(tokens.begin() + w, tokens.begin() + w + seq_len);
    if (llamacpp) window[0] = 1;
    at::Tensor logits = model.forward(torch::tensor(window).view({1, seq_len}))[0].to(torch::kFloat64);
    for (int64_t pos = llamacpp ? seq_len / 2 : 0; pos + 1 < seq_len; ++pos) {
      at::Tensor row = logits[pos];
      double log_z = std::log(row.exp().sum().item<double>());
      sum += log_z - row[tokens[w + pos + 1]].item<double>();
      ++count;
    }
  }
  return sum / count;
}

TEST(PerplexityTest, BatchedProtocolsEqualPlainPerWindowReference) {
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  std::vector<int32_t> tokens = ids(300, 512);
  for (bool llamacpp : {false, true}) {
    auto r = lmshrink::perplexity(*model, tokens, llamacpp ? PplProtocol::kLlamaCpp : PplProtocol::kGptq, 64, 2);
    EXPECT_NEAR(r.nll, reference_nll(*model, tokens, 64, llamacpp), 1e-5) << (llamacpp ? "llamacpp" : "gptq");
  }
}

TEST(PerplexityTest, LlamaCppProtocolNeedsTwoContextsOfTokens) {
  auto model = uniform_model(50);
  EXPECT_THROW(lmshrink::perplexity(*model, ids(79, 50), PplProtocol::kLlamaCpp, 40), lmshrink::Error);
  EXPECT_NO_THROW(lmshrink::perplexity(*model, ids(80, 50), PplProtocol::kLlamaCpp, 40));
}

TEST(PerplexityTest, BadSequenceLengthsAreErrors) {
  auto model = uniform_model(50);
  EXPECT_THROW(lmshrink::perplexity(*model, ids(200, 50), PplProtocol::kGptq, 0), lmshrink::Error);
  EXPECT_THROW(lmshrink::perplexity(*model, ids(200, 50), PplProtocol::kGptq, 65), lmshrink::Error);
  EXPECT_THROW(lmshrink::parse_ppl_protocol("wikitext"), lmshrink::Error);
}

}  // namespace
