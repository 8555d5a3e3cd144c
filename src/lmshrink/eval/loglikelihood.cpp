// Batched continuation scoring with lm-eval's left truncation (loglikelihood.h).
#include "lmshrink/eval/loglikelihood.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>

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

void check_request(const LoglikRequest& request, size_t index) {
  LMSHRINK_CHECK(!request.context.empty(), "log-likelihood request ", index, ": empty context (give it the prefix token)");
  LMSHRINK_CHECK(!request.continuation.empty(), "log-likelihood request ", index, ": empty continuation");
}

// Requests whose model inputs are identical (e.g. the four single-letter MMLU choices, whose input is
// the context alone) share one row: the row is run once and every request on it reads its scores.
struct Row {
  std::vector<int32_t> input;
  std::vector<size_t> requests;
};

// Scores one batch of rows and writes the results of their requests.
void score_batch(const LogProbModel& model, const std::vector<LoglikRequest>& requests, const std::vector<const Row*>& batch,
                 std::vector<LoglikResult>& results) {
  size_t width = 0;
  for (const Row* row : batch) width = std::max(width, row->input.size());
  at::Tensor tokens = torch::zeros({static_cast<int64_t>(batch.size()), static_cast<int64_t>(width)}, torch::kInt64);
  auto rows = tokens.accessor<int64_t, 2>();
  for (size_t b = 0; b < batch.size(); ++b)
    for (size_t t = 0; t < batch[b]->input.size(); ++t) rows[b][t] = batch[b]->input[t];
  at::Tensor log_probs = model.log_probs(tokens).to(torch::kFloat32).contiguous();
  at::Tensor argmax = log_probs.argmax(-1);
  auto lp = log_probs.accessor<float, 3>();
  auto best = argmax.accessor<int64_t, 2>();
  for (size_t b = 0; b < batch.size(); ++b)
    for (size_t index : batch[b]->requests) {
      const std::vector<int32_t>& continuation = requests[index].continuation;
      size_t length = batch[b]->input.size();
      size_t skip = continuation.size() > length ? continuation.size() - length : 0;  // no prediction for these
      int64_t first = static_cast<int64_t>(length - (continuation.size() - skip));
      LoglikResult& result = results[index];
      result.greedy = true;
      result.truncated = skip > 0;
      for (size_t i = skip; i < continuation.size(); ++i) {
        int64_t position = first + static_cast<int64_t>(i - skip);
        result.logprob += static_cast<double>(lp[b][position][continuation[i]]);
        result.greedy = result.greedy && best[b][position] == continuation[i];
      }
    }
}

// The distinct model inputs of all requests, longest first (lm-eval's order; ties keep input order).
std::vector<Row> distinct_rows(const std::vector<LoglikRequest>& requests, int64_t max_length) {
  std::vector<Row> rows;
  std::map<std::vector<int32_t>, size_t> row_of_input;
  for (size_t i = 0; i < requests.size(); ++i) {
    std::vector<int32_t> input = model_input(requests[i], max_length);
    auto [it, inserted] = row_of_input.emplace(input, rows.size());
    if (inserted) rows.push_back({std::move(input), {}});
    rows[it->second].requests.push_back(i);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.input.size() > b.input.size(); });
  return rows;
}

}  // namespace

std::vector<LoglikResult> score_loglikelihood(const LogProbModel& model, const std::vector<LoglikRequest>& requests,
                                              int64_t batch_size, const std::string& progress_label) {
  LMSHRINK_CHECK(batch_size > 0, "batch_size must be positive, got ", batch_size);
  for (size_t i = 0; i < requests.size(); ++i) check_request(requests[i], i);
  std::vector<Row> rows = distinct_rows(requests, model.max_length());
  std::vector<LoglikResult> results(requests.size());
  Progress progress(progress_label, static_cast<int64_t>(requests.size()));
  for (size_t start = 0; start < rows.size(); start += batch_size) {
    size_t end = std::min(rows.size(), start + static_cast<size_t>(batch_size));
    std::vector<const Row*> batch;
    int64_t scored = 0;
    for (size_t r = start; r < end; ++r) batch.push_back(&rows[r]), scored += static_cast<int64_t>(rows[r].requests.size());
    score_batch(model, requests, batch, results);
    progress.advance(scored);
  }
  progress.finish();
  return results;
}

}  // namespace lmshrink
