// Token-level perplexity under two named protocols (PROTOCOLS.md):
//  gptq     - the token stream (one BOS at the start) cut into non-overlapping windows of seq_len
//             tokens, remainder dropped; every prediction inside a window is scored (seq_len - 1
//             per window); ppl = exp(mean NLL).
//  llamacpp - llama.cpp llama-perplexity -c seq_len: chunks of seq_len tokens, the first token of
//             each chunk replaced by BOS, only predictions of the second half scored
//             (seq_len - 1 - seq_len/2 per chunk); needs at least 2 * seq_len tokens. The error bar
//             is llama.cpp's: ppl * sqrt((E[nll^2] - E[nll]^2) / (count - 1)).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "lmshrink/model/transformer.h"

namespace lmshrink {

enum class PplProtocol { kGptq, kLlamaCpp };

PplProtocol parse_ppl_protocol(const std::string& name);  // "gptq" | "llamacpp"
std::string ppl_protocol_name(PplProtocol protocol);

struct PerplexityResult {
  double ppl = 0.0;
  double nll = 0.0;         // mean negative log-likelihood, nats per scored token
  double ppl_stderr = 0.0;  // llama.cpp's uncertainty estimate
  int64_t tokens_scored = 0;
  int64_t windows = 0;
  int64_t tokens_total = 0; // tokens in the encoded file
  int64_t seq_len = 0;
  std::string protocol;
  double seconds = 0.0;
};

// tokens: the whole encoded text, BOS first. batch_size windows are run through the model at once.
PerplexityResult perplexity(const Transformer& model, const std::vector<int32_t>& tokens, PplProtocol protocol,
                            int64_t seq_len, int64_t batch_size = 4);

}  // namespace lmshrink
