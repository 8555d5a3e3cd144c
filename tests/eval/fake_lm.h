// Test doubles for the zero-shot scorers: a byte tokenizer (id = byte + 3, BOS 1, EOS 2) and a fake
// language model whose log-probabilities are a closed-form function of (previous token, position),
// so every expected score can be computed by hand in float64 without the code under test.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "lmshrink/eval/log_prob_model.h"
#include "lmshrink/tokenizer/tokenizer.h"

namespace lmshrink::testing {

class ByteTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(const std::string& text, bool add_bos, bool add_eos) const override {
    std::vector<int32_t> ids;
    if (add_bos) ids.push_back(1);
    for (unsigned char c : text) ids.push_back(c + 3);
    if (add_eos) ids.push_back(2);
    return ids;
  }
  std::string decode_token(int32_t, int32_t token) const override { return std::string(1, static_cast<char>(token - 3)); }
  int64_t vocab_size() const override { return 259; }
  int32_t bos_id() const override { return 1; }
  int32_t eos_id() const override { return 2; }
};

// Unnormalised score of `next` after `prev` at row position `pos`; the model's log-probability is
// this minus the log-sum-exp over the vocabulary. position_weight 0 makes it a pure bigram model.
inline double fake_score(int64_t prev, int64_t next, int64_t pos, double position_weight) {
  return std::sin(0.37 * static_cast<double>(prev) + 1.3 * static_cast<double>(next)) +
         position_weight * std::cos(0.5 * static_cast<double>(pos) * static_cast<double>(next));
}

inline double fake_log_prob(int64_t prev, int64_t next, int64_t pos, double position_weight, int64_t vocab) {
  double max_score = -1e300;
  for (int64_t v = 0; v < vocab; ++v) max_score = std::max(max_score, fake_score(prev, v, pos, position_weight));
  double sum = 0.0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(fake_score(prev, v, pos, position_weight) - max_score);
  return fake_score(prev, next, pos, position_weight) - max_score - std::log(sum);
}

class FakeLm : public LogProbModel {
 public:
  FakeLm(int64_t max_length, double position_weight, int64_t vocab = 259)
      : max_length_(max_length), position_weight_(position_weight), vocab_(vocab) {}
  at::Tensor log_probs(const at::Tensor& tokens) const override {
    calls_++;
    int64_t batch = tokens.size(0), seq = tokens.size(1);
    EXPECT_LE(seq, max_length_);
    at::Tensor scores = torch::empty({batch, seq, vocab_}, torch::kFloat64);
    auto out = scores.accessor<double, 3>();
    auto in = tokens.accessor<int64_t, 2>();
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < seq; ++t)
        for (int64_t v = 0; v < vocab_; ++v) out[b][t][v] = fake_score(in[b][t], v, t, position_weight_);
    return torch::log_softmax(scores, -1).to(torch::kFloat32);
  }
  int64_t max_length() const override { return max_length_; }
  mutable int calls_ = 0;

 private:
  int64_t max_length_;
  double position_weight_;
  int64_t vocab_;
};

}  // namespace lmshrink::testing
