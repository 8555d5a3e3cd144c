// run.c's sampler (see sampler.h): sample_argmax, sample_mult, sample_topp, random_u32/random_f32.
#include "lmshrink/runtime/sampler.h"

#include <algorithm>
#include <cmath>

#include "lmshrink/util/error.h"

namespace lmshrink {

int32_t argmax(const std::vector<float>& values) {
  int32_t best = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    if (values[i] > values[best]) best = static_cast<int32_t>(i);
  }
  return best;
}

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_state_(options.seed) {
  LMSHRINK_CHECK(options.temperature >= 0.0f, "temperature: expected >= 0, got ", options.temperature);
  LMSHRINK_CHECK(options.temperature == 0.0f || options.seed != 0, "seed: must be non-zero (xorshift state)");
}

float Sampler::random_f32() {
  rng_state_ ^= rng_state_ >> 12;
  rng_state_ ^= rng_state_ << 25;
  rng_state_ ^= rng_state_ >> 27;
  uint32_t bits = static_cast<uint32_t>((rng_state_ * 0x2545F4914F6CDD1Dull) >> 32);
  return (bits >> 8) / 16777216.0f;
}

namespace {

void softmax_in_place(std::vector<float>& x) {
  float max_value = *std::max_element(x.begin(), x.end());
  float sum = 0.0f;
  for (float& v : x) {
    v = std::exp(v - max_value);
    sum += v;
  }
  for (float& v : x) v /= sum;
}

int32_t sample_multinomial(const std::vector<float>& probs, float coin) {
  float cdf = 0.0f;
  for (size_t i = 0; i < probs.size(); ++i) {
    cdf += probs[i];
    if (coin < cdf) return static_cast<int32_t>(i);
  }
  return static_cast<int32_t>(probs.size()) - 1;
}

int32_t sample_top_p(const std::vector<float>& probs, float top_p, float coin) {
  // Tokens below (1 - top_p) / (n - 1) cannot be in the nucleus: drop them before sorting.
  const float cutoff = (1.0f - top_p) / static_cast<float>(probs.size() - 1);
  std::vector<std::pair<float, int32_t>> kept;
  for (size_t i = 0; i < probs.size(); ++i) {
    if (probs[i] >= cutoff) kept.push_back({probs[i], static_cast<int32_t>(i)});
  }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  float cumulative = 0.0f;
  size_t last = kept.size() - 1;
  for (size_t i = 0; i < kept.size(); ++i) {
    cumulative += kept[i].first;
    if (cumulative > top_p) {
      last = i;
      break;
    }
  }
  float target = coin * cumulative, cdf = 0.0f;
  for (size_t i = 0; i <= last; ++i) {
    cdf += kept[i].first;
    if (target < cdf) return kept[i].second;
  }
  return kept[last].second;
}

}  // namespace

int32_t Sampler::sample(std::vector<float> logits) {
  if (options_.temperature == 0.0f) return argmax(logits);
  for (float& v : logits) v /= options_.temperature;
  softmax_in_place(logits);
  float coin = random_f32();
  if (options_.top_p <= 0.0f || options_.top_p >= 1.0f) return sample_multinomial(logits, coin);
  return sample_top_p(logits, options_.top_p, coin);
}

}  // namespace lmshrink
