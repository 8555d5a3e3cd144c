// Rolling-window document log-likelihood and lm-eval's word/byte perplexity (rolling_perplexity.h).
#include "lmshrink/eval/rolling_perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "lmshrink/eval/wikitext_doc.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

std::vector<LoglikRequest> rolling_windows(const std::vector<int32_t>& tokens, int32_t prefix_token, int64_t max_length) {
  LMSHRINK_CHECK(max_length >= 1, "rolling windows need a context of at least 1 token");
  std::vector<LoglikRequest> windows;
  int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return windows;
  int64_t first = std::min(max_length, n);
  windows.push_back({{prefix_token}, std::vector<int32_t>(tokens.begin(), tokens.begin() + first)});
  for (int64_t predicted = first; predicted < n;) {
    int64_t length = std::min(n - predicted, max_length);
    int64_t end = predicted + length;
    int64_t context_begin = end - max_length - 1;  // >= 0: at least max_length tokens precede `end` here
    windows.push_back({std::vector<int32_t>(tokens.begin() + context_begin, tokens.begin() + predicted),
                       std::vector<int32_t>(tokens.begin() + predicted, tokens.begin() + end)});
    predicted = end;
  }
  return windows;
}

RollingPerplexity wikitext_word_perplexity(const LogProbModel& model, const Tokenizer& tokenizer,
                                           const std::string& raw_text, int64_t limit, int64_t batch_size) {
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> documents = wikitext_documents(raw_text);
  if (limit > 0 && static_cast<size_t>(limit) < documents.size()) documents.resize(limit);
  RollingPerplexity result;
  std::vector<LoglikRequest> requests;
  for (const std::string& document : documents) {
    std::vector<int32_t> tokens = tokenizer.encode(wikitext_detokenize(document), false, false);
    for (LoglikRequest& window : rolling_windows(tokens, tokenizer.bos_id(), model.max_length()))
      requests.push_back(std::move(window));
    result.words += count_words(document);
    result.bytes += static_cast<int64_t>(document.size());
    result.tokens += static_cast<int64_t>(tokens.size());
  }
  LMSHRINK_CHECK(result.tokens > 0, "wikitext: no tokens to score (empty file?)");
  for (const LoglikResult& scored : score_loglikelihood(model, requests, batch_size, "wikitext"))
    result.loglikelihood += scored.logprob;
  result.documents = static_cast<int64_t>(documents.size());
  result.windows = static_cast<int64_t>(requests.size());
  result.word_perplexity = std::exp(-result.loglikelihood / static_cast<double>(result.words));
  result.byte_perplexity = std::exp(-result.loglikelihood / static_cast<double>(result.bytes));
  result.bits_per_byte = -result.loglikelihood / static_cast<double>(result.bytes) / std::log(2.0);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace lmshrink
