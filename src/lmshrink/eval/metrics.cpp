// lm-eval's mean / standard error and the acc / acc_norm decisions (metrics.h).
#include "lmshrink/eval/metrics.h"

#include <algorithm>
#include <cmath>

#include "lmshrink/util/error.h"

namespace lmshrink {

MetricValue mean_with_stderr(const std::vector<double>& per_item) {
  MetricValue metric;
  metric.n = static_cast<int64_t>(per_item.size());
  if (per_item.empty()) return metric;
  double sum = 0.0;
  for (double x : per_item) sum += x;
  metric.value = sum / static_cast<double>(metric.n);
  if (metric.n < 2) return metric;
  double squares = 0.0;
  for (double x : per_item) squares += (x - metric.value) * (x - metric.value);
  double sample_std = std::sqrt(squares / static_cast<double>(metric.n - 1));
  metric.stderr_value = sample_std / std::sqrt(static_cast<double>(metric.n));
  return metric;
}

size_t argmax_index(const std::vector<double>& values) {
  LMSHRINK_CHECK(!values.empty(), "argmax of an empty list of choices");
  size_t best = 0;
  for (size_t i = 1; i < values.size(); ++i)
    if (values[i] > values[best]) best = i;
  return best;
}

int64_t utf8_length(const std::string& text) {
  int64_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

std::vector<double> length_normalized(const std::vector<double>& logprobs, const std::vector<std::string>& choices) {
  LMSHRINK_CHECK(logprobs.size() == choices.size(), "acc_norm: ", logprobs.size(), " scores for ", choices.size(),
                 " choices");
  std::vector<double> normalized(logprobs.size());
  for (size_t i = 0; i < logprobs.size(); ++i)
    normalized[i] = logprobs[i] / static_cast<double>(std::max<int64_t>(1, utf8_length(choices[i])));
  return normalized;
}

}  // namespace lmshrink
