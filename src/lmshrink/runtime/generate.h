// Autoregressive generation: one batched prefill of the prompt into a KV cache, then one decode
// step per new token. Stops after max_new_tokens, at BOS (as llama2.c run.c does) or at EOS.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "lmshrink/model/transformer.h"
#include "lmshrink/runtime/sampler.h"

namespace lmshrink {

struct GenerationResult {
  std::vector<int32_t> tokens;  // prompt followed by the generated tokens
  int64_t prompt_tokens = 0;
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
  bool stopped_at_special = false;
  std::vector<float> prompt_logits;  // the next-token logits after the prompt (what the first token was drawn from)
};

// on_token(prev, token) is called for every generated token as soon as it is chosen.
GenerationResult generate(const Transformer& model, const std::vector<int32_t>& prompt, int64_t max_new_tokens,
                          const SamplingOptions& sampling,
                          const std::function<void(int32_t, int32_t)>& on_token = nullptr);

// llama2.c's -n steps counts positions including the prompt: new tokens = steps + 1 - prompt length.
int64_t new_tokens_for_steps(int64_t steps, int64_t prompt_tokens);

}  // namespace lmshrink
