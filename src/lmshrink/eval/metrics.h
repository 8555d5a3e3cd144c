// Aggregation of per-item scores as lm-eval-harness 0.4 reports them: the mean and its standard
// error, sample standard deviation (n - 1) / sqrt(n) (lm_eval.api.metrics.mean_stderr), and the
// multiple-choice decisions acc (argmax of summed log-probability) and acc_norm (argmax of the
// log-probability divided by the choice's length in characters).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lmshrink {

struct MetricValue {
  double value = 0.0;
  double stderr_value = 0.0;  // 0 when n < 2
  int64_t n = 0;
};

MetricValue mean_with_stderr(const std::vector<double>& per_item);

// Index of the largest value; the first one on ties (numpy.argmax).
size_t argmax_index(const std::vector<double>& values);

// log-probabilities divided by the character length of each choice string (bytes for ASCII; lm-eval
// uses len() of the Python string, so a multi-byte UTF-8 character counts once).
std::vector<double> length_normalized(const std::vector<double>& logprobs, const std::vector<std::string>& choices);

int64_t utf8_length(const std::string& text);  // code points

}  // namespace lmshrink
