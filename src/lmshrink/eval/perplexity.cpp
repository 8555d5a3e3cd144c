// Perplexity protocols (see perplexity.h). Log-probabilities come from float32 log_softmax; sums
// are accumulated in float64.
#include "lmshrink/eval/perplexity.h"

#include <chrono>
#include <cmath>

#include "lmshrink/eval/log_prob_model.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink {

PplProtocol parse_ppl_protocol(const std::string& name) {
  if (name == "gptq") return PplProtocol::kGptq;
  if (name == "llamacpp") return PplProtocol::kLlamaCpp;
  fail("protocol: unknown perplexity protocol '", name, "' (expected gptq or llamacpp)");
}

std::string ppl_protocol_name(PplProtocol protocol) {
  return protocol == PplProtocol::kGptq ? "gptq" : "llamacpp";
}

PerplexityResult perplexity(const Transformer& model, const std::vector<int32_t>& tokens, PplProtocol protocol,
                            int64_t seq_len, int64_t batch_size) {
  const ModelConfig& config = model.config();
  int64_t total = static_cast<int64_t>(tokens.size());
  LMSHRINK_CHECK(seq_len >= 2, "seq_len: expected at least 2, got ", seq_len);
  LMSHRINK_CHECK(seq_len <= config.max_position_embeddings, "seq_len: ", seq_len, " exceeds the model context of ",
                 config.max_position_embeddings);
  LMSHRINK_CHECK(batch_size >= 1, "batch_size: expected at least 1, got ", batch_size);
  bool llamacpp = protocol == PplProtocol::kLlamaCpp;
  LMSHRINK_CHECK(total >= (llamacpp ? 2 * seq_len : seq_len), "perplexity: the text has ", total,
                 " tokens; the ", ppl_protocol_name(protocol), " protocol at --seq-len ", seq_len, " needs at least ",
                 llamacpp ? 2 * seq_len : seq_len);

  auto start_time = std::chrono::steady_clock::now();
  int64_t windows = total / seq_len;
  int64_t first_scored = llamacpp ? seq_len / 2 : 0;  // logits row of the first scored prediction
  double nll_sum = 0.0, nll_sq_sum = 0.0;
  int64_t scored = 0;
  at::Tensor all_ids = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.begin() + windows * seq_len))
                           .view({windows, seq_len});
  Progress progress("perplexity", windows);
  torch::NoGradGuard no_grad;
  for (int64_t w0 = 0; w0 < windows; w0 += batch_size) {
    int64_t count = std::min(batch_size, windows - w0);
    at::Tensor ids = all_ids.narrow(0, w0, count).clone();        // [count, seq_len]
    if (llamacpp && config.bos_token_id >= 0) ids.select(1, 0).fill_(config.bos_token_id);  // as llama.cpp, when the vocab has a BOS
    at::Tensor logits = streamed_logits(model, ids);              // [count, seq_len, vocab]
    int64_t rows = seq_len - 1 - first_scored;
    at::Tensor log_probs = torch::log_softmax(logits.narrow(1, first_scored, rows), -1);
    at::Tensor targets = all_ids.narrow(0, w0, count).narrow(1, first_scored + 1, rows);  // original tokens
    at::Tensor nll = -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1).to(torch::kFloat64);
    nll_sum += nll.sum().item<double>();
    nll_sq_sum += nll.pow(2).sum().item<double>();
    scored += count * rows;
    progress.advance(count);
  }
  progress.finish();

  PerplexityResult result;
  result.nll = nll_sum / scored;
  result.ppl = std::exp(result.nll);
  double variance = nll_sq_sum / scored - result.nll * result.nll;
  result.ppl_stderr = (variance > 0 && scored > 1) ? result.ppl * std::sqrt(variance / (scored - 1)) : 0.0;
  result.tokens_scored = scored;
  result.windows = windows;
  result.tokens_total = total;
  result.seq_len = seq_len;
  result.protocol = ppl_protocol_name(protocol);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  return result;
}

}  // namespace lmshrink
