// Prefill/decode throughput measurement (see throughput.h).
#include "lmshrink/runtime/throughput.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>

#include "lmshrink/runtime/inference_prepare.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double>(end - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

struct RunTimes {
  double prefill = 0.0, first_token = 0.0, decode = 0.0;
};

// One prefill of `prompt` [1, P] and `steps` greedy decode steps on a fresh cache.
RunTimes run_once(const Transformer& model, const at::Tensor& prompt, int64_t steps) {
  KVCache cache(model.config(), 1, prompt.size(1) + steps, torch::TensorOptions().dtype(torch::kFloat32));
  RunTimes times;
  auto start = Clock::now();
  at::Tensor logits = model.forward(prompt, &cache);
  auto prefilled = Clock::now();
  at::Tensor next = logits.select(1, logits.size(1) - 1).argmax(-1, /*keepdim=*/true);  // [1, 1]
  (void)next.item<int64_t>();
  auto first = Clock::now();
  for (int64_t step = 0; step < steps; ++step) {
    logits = model.forward(next, &cache);
    next = logits.select(1, 0).argmax(-1, /*keepdim=*/true);
  }
  (void)next.item<int64_t>();
  times.prefill = seconds_between(start, prefilled);
  times.first_token = seconds_between(start, first);
  times.decode = seconds_between(first, Clock::now());
  return times;
}

}  // namespace

int64_t peak_rss_bytes() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

void check_throughput_options(const ModelConfig& config, const ThroughputOptions& options) {
  LMSHRINK_CHECK(options.prompt_tokens >= 1 && options.gen_tokens >= 1 && options.repeats >= 1,
                 "bench: --prompt-tokens, --gen-tokens and --repeats must be at least 1");
  LMSHRINK_CHECK(options.prompt_tokens + options.gen_tokens <= config.max_position_embeddings, "bench: ",
                 options.prompt_tokens, " prompt + ", options.gen_tokens, " generated tokens exceed the model context of ",
                 config.max_position_embeddings);
}

ThroughputResult measure_throughput(const Transformer& model, const ThroughputOptions& options) {
  const ModelConfig& config = model.config();
  check_throughput_options(config, options);
  torch::NoGradGuard no_grad;
  at::Tensor prompt = torch::randint(0, config.vocab_size, {1, options.prompt_tokens},
                                     at::detail::createCPUGenerator(options.seed), torch::kInt64);
  run_once(model, prompt.narrow(1, 0, std::min<int64_t>(8, options.prompt_tokens)), 2);  // warm-up
  std::vector<double> prefill, first_token, decode;
  for (int64_t repeat = 0; repeat < options.repeats; ++repeat) {
    RunTimes times = run_once(model, prompt, options.gen_tokens);
    prefill.push_back(times.prefill);
    first_token.push_back(times.first_token);
    decode.push_back(times.decode);
  }
  ThroughputResult result;
  result.prefill_seconds = median(prefill);
  result.first_token_seconds = median(first_token);
  result.decode_seconds = median(decode);
  result.prefill_tokens_per_second = options.prompt_tokens / result.prefill_seconds;
  result.decode_tokens_per_second = options.gen_tokens / result.decode_seconds;
  result.weight_bytes_per_token = model_weight_bytes_per_token(model);
  double mean_context = options.prompt_tokens + 0.5 * (options.gen_tokens + 1);
  result.kv_bytes_per_token = static_cast<int64_t>(2.0 * config.num_layers * config.num_kv_heads * config.head_dim *
                                                   static_cast<double>(sizeof(float)) * mean_context);
  result.peak_rss_bytes = peak_rss_bytes();
  return result;
}

}  // namespace lmshrink
