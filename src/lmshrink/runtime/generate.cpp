// Prefill + incremental decode with a KV cache (see generate.h).
#include "lmshrink/runtime/generate.h"

#include <algorithm>
#include <chrono>

#include "lmshrink/util/error.h"
#include "lmshrink/util/stopwatch.h"

namespace lmshrink {

namespace {
std::vector<float> last_logits(const at::Tensor& logits) {  // logits [1, seq, vocab]
  at::Tensor row = logits[0][logits.size(1) - 1].contiguous().to(torch::kFloat32);
  return std::vector<float>(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
}
}  // namespace

int64_t new_tokens_for_steps(int64_t steps, int64_t prompt_tokens) {
  return std::max<int64_t>(0, steps + 1 - prompt_tokens);
}

GenerationResult generate(const Transformer& model, const std::vector<int32_t>& prompt, int64_t max_new_tokens,
                          const SamplingOptions& sampling, const std::function<void(int32_t, int32_t)>& on_token) {
  const ModelConfig& config = model.config();
  LMSHRINK_CHECK(!prompt.empty(), "generate: the prompt encodes to no tokens");
  LMSHRINK_CHECK(max_new_tokens >= 0, "generate: --max-tokens must be >= 0, got ", max_new_tokens);
  int64_t prompt_len = static_cast<int64_t>(prompt.size());
  LMSHRINK_CHECK(prompt_len <= config.max_position_embeddings, "generate: prompt of ", prompt_len,
                 " tokens exceeds the model context of ", config.max_position_embeddings);
  // The last generated token is never fed back, so the context bounds prompt + new - 1.
  max_new_tokens = std::min(max_new_tokens, config.max_position_embeddings + 1 - prompt_len);

  Sampler sampler(sampling);  // checks the options even when nothing is generated
  GenerationResult result;
  result.tokens = prompt;
  result.prompt_tokens = prompt_len;
  if (max_new_tokens == 0) return result;
  torch::NoGradGuard no_grad;
  // The cache holds keys and values in the compute dtype (float32; float64 for a float64 model), whatever the storage
  // dtype of the embeddings (bf16 checkpoints stay bf16: model/linear.h compute_tensor).
  at::ScalarType compute = model.embed_tokens().scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
  KVCache cache(config, 1, config.max_position_embeddings, model.embed_tokens().options().dtype(compute));

  auto start = std::chrono::steady_clock::now();
  at::Tensor prompt_ids = torch::tensor(std::vector<int64_t>(prompt.begin(), prompt.end())).view({1, prompt_len});
  std::vector<float> logits = last_logits(model.forward(prompt_ids, &cache));
  result.prefill_seconds = seconds_since(start);
  result.prompt_logits = logits;

  start = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    int32_t next = sampler.sample(logits);
    bool is_eos = std::find(config.eos_token_ids.begin(), config.eos_token_ids.end(), next) != config.eos_token_ids.end();
    if (is_eos || next == config.bos_token_id) {
      result.stopped_at_special = true;
      break;
    }
    if (on_token) on_token(result.tokens.back(), next);
    result.tokens.push_back(next);
    if (step + 1 == max_new_tokens) break;
    at::Tensor input = torch::full({1, 1}, static_cast<int64_t>(next), torch::kInt64);
    logits = last_logits(model.forward(input, &cache));
  }
  result.decode_seconds = seconds_since(start);
  return result;
}

}  // namespace lmshrink
