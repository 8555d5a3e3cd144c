// Prefill and batch-1 decode throughput of a model (`lmshrink bench`, issue 11). Each repeat starts a fresh KV
// cache, prefills a random prompt of P tokens (time to first token: prefill plus the greedy pick of the first new
// token), then decodes G tokens greedily one at a time. A warm-up pass (8-token prompt, 2 decode steps) runs first
// and the medians of the repeats are reported. Peak resident memory is the process's high-water mark (getrusage).
#pragma once
#include <cstdint>
#include <vector>

#include "lmshrink/model/transformer.h"

namespace lmshrink {

struct ThroughputOptions {
  int64_t prompt_tokens = 128;  // P >= 1
  int64_t gen_tokens = 32;      // G >= 1
  int64_t repeats = 3;          // >= 1
  uint64_t seed = 7;            // prompt token ids
};

struct ThroughputResult {
  double prefill_seconds = 0.0, decode_seconds = 0.0, first_token_seconds = 0.0;  // medians over repeats
  double prefill_tokens_per_second = 0.0;  // P / prefill_seconds
  double decode_tokens_per_second = 0.0;   // G / decode_seconds
  int64_t weight_bytes_per_token = 0;      // model_weight_bytes_per_token (inference_prepare.h)
  int64_t kv_bytes_per_token = 0;          // keys and values read per decoded token at the mean decode context
  int64_t peak_rss_bytes = 0;
};

// Throws lmshrink::Error for bad options or P + G beyond the model's context.
void check_throughput_options(const ModelConfig& config, const ThroughputOptions& options);
ThroughputResult measure_throughput(const Transformer& model, const ThroughputOptions& options);

int64_t peak_rss_bytes();  // the process's peak resident set size so far

}  // namespace lmshrink
