// lm-eval-harness 0.4's loglikelihood_rolling and the word / byte perplexity of its `wikitext` task.
// A document's tokens (encoded without special tokens) are cut into windows that each predict up to
// max_length new tokens (lm_eval.utils.get_rolling_token_windows with context_len = 1, then
// make_disjoint_window): the first window is [prefix] + tokens[0 : n1 - 1] predicting tokens[0 : n1];
// every later window predicts the next up to max_length tokens and sees the max_length tokens before
// each of them, so every token is scored exactly once with as much left context as fits. Per corpus:
//   word_perplexity = exp(-Σ loglik / Σ words), byte_perplexity = exp(-Σ loglik / Σ bytes),
//   bits_per_byte = -Σ loglik / Σ bytes / ln 2  (lm_eval.api.metrics weighted_perplexity, bits_per_byte).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmshrink/eval/loglikelihood.h"
#include "lmshrink/tokenizer/tokenizer.h"

namespace lmshrink {

// The windows of one token list as log-likelihood requests (context = the unscored part).
std::vector<LoglikRequest> rolling_windows(const std::vector<int32_t>& tokens, int32_t prefix_token, int64_t max_length);

struct RollingPerplexity {
  double word_perplexity = 0.0;
  double byte_perplexity = 0.0;
  double bits_per_byte = 0.0;
  double loglikelihood = 0.0;  // Σ over documents, nats
  int64_t documents = 0, words = 0, bytes = 0, tokens = 0, windows = 0;
  double seconds = 0.0;
};

// wiki.test.raw text -> lm-eval's wikitext metrics (documents split and detokenized per wikitext_doc.h).
// limit > 0 evaluates the first `limit` documents only.
RollingPerplexity wikitext_word_perplexity(const LogProbModel& model, const Tokenizer& tokenizer,
                                           const std::string& raw_text, int64_t limit, int64_t batch_size);

}  // namespace lmshrink
