// Token sampling exactly as llama2.c run.c does it: greedy argmax at temperature 0; otherwise
// softmax(logits / T) and either multinomial sampling or top-p (nucleus) sampling, drawing from
// run.c's xorshift* generator so a seed gives the same text as run.c with -s.
#pragma once
#include <cstdint>
#include <vector>

namespace lmshrink {

struct SamplingOptions {
  float temperature = 0.0f;  // 0 = greedy
  float top_p = 0.9f;        // outside (0, 1): plain multinomial
  uint64_t seed = 42;
};

class Sampler {
 public:
  explicit Sampler(const SamplingOptions& options);
  int32_t sample(std::vector<float> logits);  // logits of one position, [vocab]

 private:
  float random_f32();
  SamplingOptions options_;
  uint64_t rng_state_;
};

int32_t argmax(const std::vector<float>& values);  // first index of the maximum

}  // namespace lmshrink
