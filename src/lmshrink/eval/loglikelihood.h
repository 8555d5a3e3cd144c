// Batched log-likelihood requests as lm-eval-harness 0.4 runs them (HFLM._loglikelihood_tokens):
// each request is (context tokens, continuation tokens); the model sees the last max_length + 1
// tokens of context + continuation minus the final one (left truncation), and the continuation's
// log-probabilities are summed. `greedy` says whether every continuation token is the argmax at
// its position (LAMBADA accuracy). Requests with the same model input share one row (single-token
// continuations of one context: MMLU's letters), the rows of one context share its prefix pass (a KV
// cache), the other rows are run longest first in batches of right-padded rows (padding after a row's end
// cannot change its causal predictions), and results come back in input order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmshrink/eval/log_prob_model.h"

namespace lmshrink {

struct LoglikRequest {
  std::vector<int32_t> context;       // at least one token (an empty context gets the prefix token)
  std::vector<int32_t> continuation;  // at least one token
};

struct LoglikResult {
  double logprob = 0.0;    // sum of log P(continuation token | everything before it)
  bool greedy = false;     // every continuation token is the argmax of its prediction
  bool truncated = false;  // the continuation is longer than the context: only its last max_length tokens
                           // are scored (lm-eval slices the same window; its first tokens get no prediction)
};

// progress_label names the progress bar (silent when progress is quiet). share_prefixes: rows whose requests have
// the same context (the choices of one question) and share at least 2 leading tokens run that prefix once
// (LogProbModel::log_probs_after_prefix: a KV cache for the Transformer), up to batch_size rows after it; the results
// equal the whole-row path's up to float rounding.
std::vector<LoglikResult> score_loglikelihood(const LogProbModel& model, const std::vector<LoglikRequest>& requests,
                                              int64_t batch_size, const std::string& progress_label,
                                              bool share_prefixes = true);

}  // namespace lmshrink
