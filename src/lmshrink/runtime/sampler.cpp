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
  LMSHRINK_CHECK(std::isfinite(options.temperature) && options.temperature >= 0.0f, "--temperature: expected a finite value >= 0, got ",
                 options.temperature);
  LMSHRINK_CHECK(std::isfinite(options.top_p), "--top-p: expected a finite value, got ", options.top_p);
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

// softmax(x / T) with the maximum subtracted before the division, so a tiny T cannot overflow (x - max <= 0).
void softmax_in_place(std::vector<float>& x, float temperature) {
  float max_value = *std::max_element(x.begin(), x.end());
  float sum = 0.0f;
  for (float& v : x) {
    v = std::exp((v - max_value) / temperature);
    sum += v;
  }
  for (float& v : x) v /= sum;
}

// NaN or +Inf logits (a model with non-finite weights) cannot be sampled; −Inf is a masked token.
void check_finite_logits(const std::vector<float>& logits) {
  bool any_finite = false;
  for (float v : logits) {
    LMSHRINK_CHECK(!std::isnan(v) && v != INFINITY, "sampling: the model produced a NaN or +Inf logit (non-finite weights?)");
    any_finite = any_finite || std::isfinite(v);
  }
  LMSHRINK_CHECK(any_finite, "sampling: every logit is -Inf; nothing can be sampled");
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
  if (kept.empty()) {  // a flat distribution with a small top_p can fall below the cutoff everywhere (run.c's bug)
    return static_cast<int32_t>(std::max_element(probs.begin(), probs.end()) - probs.begin());
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
  LMSHRINK_CHECK(!logits.empty(), "sampling: empty logits");
  check_finite_logits(logits);
  if (options_.temperature == 0.0f || logits.size() == 1) return argmax(logits);
  softmax_in_place(logits, options_.temperature);
  float coin = random_f32();
  if (options_.top_p <= 0.0f || options_.top_p >= 1.0f) return sample_multinomial(logits, coin);
  return sample_top_p(logits, options_.top_p, coin);
}

}  // namespace lmshrink
