// Batched continuation scoring with lm-eval's left truncation (loglikelihood.h).
#include "lmshrink/eval/loglikelihood.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink {

namespace {

// The model input of one request: (context + continuation)[-(max_length + 1):][:-1].
std::vector<int32_t> model_input(const LoglikRequest& request, int64_t max_length) {
  std::vector<int32_t> whole(request.context);
  whole.insert(whole.end(), request.continuation.begin(), request.continuation.end());
  size_t keep = std::min(whole.size(), static_cast<size_t>(max_length + 1));
  return std::vector<int32_t>(whole.end() - keep, whole.end() - 1);
}

void check_request(const LoglikRequest& request, int64_t max_length, size_t index) {
  LMSHRINK_CHECK(!request.context.empty(), "log-likelihood request ", index, ": empty context (give it the prefix token)");
  LMSHRINK_CHECK(!request.continuation.empty(), "log-likelihood request ", index, ": empty continuation");
  LMSHRINK_CHECK(static_cast<int64_t>(request.continuation.size()) <= max_length, "log-likelihood request ", index,
                 ": continuation of ", request.continuation.size(), " tokens exceeds the model context of ", max_length);
}

// Scores one batch of requests (indices into requests) and writes their results.
void score_batch(const LogProbModel& model, const std::vector<LoglikRequest>& requests, const std::vector<size_t>& batch,
                 std::vector<LoglikResult>& results) {
  std::vector<std::vector<int32_t>> inputs;
  size_t width = 0;
  for (size_t index : batch) {
    inputs.push_back(model_input(requests[index], model.max_length()));
    width = std::max(width, inputs.back().size());
  }
  at::Tensor tokens = torch::zeros({static_cast<int64_t>(batch.size()), static_cast<int64_t>(width)}, torch::kInt64);
  auto rows = tokens.accessor<int64_t, 2>();
  for (size_t b = 0; b < inputs.size(); ++b)
    for (size_t t = 0; t < inputs[b].size(); ++t) rows[b][t] = inputs[b][t];
  at::Tensor log_probs = model.log_probs(tokens).to(torch::kFloat32).contiguous();
  at::Tensor argmax = log_probs.argmax(-1);
  auto lp = log_probs.accessor<float, 3>();
  auto best = argmax.accessor<int64_t, 2>();
  for (size_t b = 0; b < batch.size(); ++b) {
    const std::vector<int32_t>& continuation = requests[batch[b]].continuation;
    int64_t length = static_cast<int64_t>(inputs[b].size());
    int64_t first = length - static_cast<int64_t>(continuation.size());
    LoglikResult& result = results[batch[b]];
    result.greedy = true;
    for (size_t i = 0; i < continuation.size(); ++i) {
      int64_t position = first + static_cast<int64_t>(i);
      result.logprob += static_cast<double>(lp[b][position][continuation[i]]);
      result.greedy = result.greedy && best[b][position] == continuation[i];
    }
  }
}

}  // namespace

std::vector<LoglikResult> score_loglikelihood(const LogProbModel& model, const std::vector<LoglikRequest>& requests,
                                              int64_t batch_size, const std::string& progress_label) {
  LMSHRINK_CHECK(batch_size > 0, "--batch-size must be positive, got ", batch_size);
  for (size_t i = 0; i < requests.size(); ++i) check_request(requests[i], model.max_length(), i);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  auto length = [&](size_t i) { return requests[i].context.size() + requests[i].continuation.size(); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return length(a) > length(b); });
  std::vector<LoglikResult> results(requests.size());
  Progress progress(progress_label, static_cast<int64_t>(requests.size()), progress_quiet());
  for (size_t start = 0; start < order.size(); start += batch_size) {
    size_t end = std::min(order.size(), start + static_cast<size_t>(batch_size));
    score_batch(model, requests, std::vector<size_t>(order.begin() + start, order.begin() + end), results);
    progress.advance(static_cast<int64_t>(end - start));
  }
  progress.finish();
  return results;
}

}  // namespace lmshrink
