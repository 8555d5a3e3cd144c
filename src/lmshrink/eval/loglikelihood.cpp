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

// Writes the results of the requests of `batch` from their rows' log-probabilities log_probs [rows, width, vocab].
void read_scores(const at::Tensor& log_probs_rows, const std::vector<LoglikRequest>& requests,
                 const std::vector<const Row*>& batch, std::vector<LoglikResult>& results) {
  at::Tensor log_probs = log_probs_rows.to(torch::kFloat32).contiguous();
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

// Token rows [rows, width] int64 of the batch's inputs from column `from` on, right-padded with 0.
at::Tensor token_rows(const std::vector<const Row*>& batch, size_t from) {
  size_t width = 0;
  for (const Row* row : batch) width = std::max(width, row->input.size() - from);
  at::Tensor tokens = torch::zeros({static_cast<int64_t>(batch.size()), static_cast<int64_t>(width)}, torch::kInt64);
  auto rows = tokens.accessor<int64_t, 2>();
  for (size_t b = 0; b < batch.size(); ++b)
    for (size_t t = from; t < batch[b]->input.size(); ++t) rows[b][t - from] = batch[b]->input[t];
  return tokens;
}

// Scores one batch of rows and writes the results of their requests.
void score_batch(const LogProbModel& model, const std::vector<LoglikRequest>& requests, const std::vector<const Row*>& batch,
                 std::vector<LoglikResult>& results) {
  read_scores(model.log_probs(token_rows(batch, 0)), requests, batch, results);
}

// Scores rows that share their first `shared` tokens (shared ≥ 1, every row longer): the prefix runs once
// (LogProbModel::log_probs_after_prefix) and its log-probabilities are put in front of each row's.
void score_shared_prefix(const LogProbModel& model, const std::vector<LoglikRequest>& requests,
                         const std::vector<const Row*>& batch, size_t shared, std::vector<LoglikResult>& results) {
  std::vector<int64_t> prefix_tokens(batch[0]->input.begin(), batch[0]->input.begin() + static_cast<int64_t>(shared));
  at::Tensor prefix = torch::tensor(prefix_tokens, torch::kInt64);
  auto [prefix_log_probs, suffix_log_probs] = model.log_probs_after_prefix(prefix, token_rows(batch, shared));
  int64_t rows = static_cast<int64_t>(batch.size());
  at::Tensor whole = torch::cat({prefix_log_probs.to(torch::kFloat32).unsqueeze(0).expand({rows, -1, -1}),
                                 suffix_log_probs.to(torch::kFloat32)}, 1);
  read_scores(whole, requests, batch, results);
}

// Length of the common prefix of two token rows.
size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// Rows that begin with the same context (one question's choices) and the tokens they share: the context, or less so
// that every row keeps a suffix.
struct PrefixGroup {
  std::vector<const Row*> rows;
  size_t shared = 0;
};

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

// Groups the rows that begin with their first request's whole context by that context (a row truncated from the left
// does not); a group of two or more rows sharing at least kMinShared tokens is scored with one prefix pass, every
// other row in the batched path (`alone`, longest first).
constexpr size_t kMinShared = 2;
std::vector<PrefixGroup> prefix_groups(const std::vector<Row>& rows, const std::vector<LoglikRequest>& requests,
                                       std::vector<const Row*>& alone) {
  std::vector<PrefixGroup> groups;
  std::map<std::vector<int32_t>, size_t> group_of_context;
  for (const Row& row : rows) {
    const std::vector<int32_t>& context = requests[row.requests[0]].context;
    if (common_prefix(context, row.input) < context.size()) {
      alone.push_back(&row);
      continue;
    }
    auto [it, inserted] = group_of_context.emplace(context, groups.size());
    if (inserted) groups.push_back({{}, context.size()});
    PrefixGroup& group = groups[it->second];
    group.rows.push_back(&row);
    group.shared = std::min(group.shared, row.input.size() - 1);  // every row keeps a suffix
  }
  std::vector<PrefixGroup> shared_groups;
  for (PrefixGroup& group : groups) {
    if (group.rows.size() >= 2 && group.shared >= kMinShared) {
      shared_groups.push_back(std::move(group));
    } else {
      alone.insert(alone.end(), group.rows.begin(), group.rows.end());
    }
  }
  std::stable_sort(alone.begin(), alone.end(), [](const Row* a, const Row* b) { return a->input.size() > b->input.size(); });
  return shared_groups;
}

int64_t request_count(const std::vector<const Row*>& rows) {
  int64_t count = 0;
  for (const Row* row : rows) count += static_cast<int64_t>(row->requests.size());
  return count;
}

}  // namespace

std::vector<LoglikResult> score_loglikelihood(const LogProbModel& model, const std::vector<LoglikRequest>& requests,
                                              int64_t batch_size, const std::string& progress_label, bool share_prefixes) {
  LMSHRINK_CHECK(batch_size > 0, "batch_size must be positive, got ", batch_size);
  for (size_t i = 0; i < requests.size(); ++i) check_request(requests[i], i);
  std::vector<Row> rows = distinct_rows(requests, model.max_length());
  std::vector<LoglikResult> results(requests.size());
  Progress progress(progress_label, static_cast<int64_t>(requests.size()));
  std::vector<const Row*> alone;
  std::vector<PrefixGroup> groups;
  if (share_prefixes) {
    groups = prefix_groups(rows, requests, alone);
  } else {
    for (const Row& row : rows) alone.push_back(&row);
  }
  for (const PrefixGroup& group : groups) {
    for (size_t start = 0; start < group.rows.size(); start += batch_size) {
      size_t end = std::min(group.rows.size(), start + static_cast<size_t>(batch_size));
      std::vector<const Row*> batch(group.rows.begin() + start, group.rows.begin() + end);
      score_shared_prefix(model, requests, batch, group.shared, results);
      progress.advance(request_count(batch));
    }
  }
  for (size_t start = 0; start < alone.size(); start += batch_size) {
    size_t end = std::min(alone.size(), start + static_cast<size_t>(batch_size));
    std::vector<const Row*> batch(alone.begin() + start, alone.begin() + end);
    score_batch(model, requests, batch, results);
    progress.advance(request_count(batch));
  }
  progress.finish();
  return results;
}

}  // namespace lmshrink
