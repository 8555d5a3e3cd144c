// One task's requests, scoring and metrics (zero_shot.h).
#include "lmshrink/eval/zero_shot.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "lmshrink/eval/encode_pair.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

std::vector<LoglikRequest> item_requests(const TaskData& task, const TaskItem& item, const Tokenizer& tokenizer,
                                         bool add_bos) {
  std::vector<LoglikRequest> requests;
  if (task.kind == TaskKind::kPartial) {
    for (const std::string& context : item.contexts)
      requests.push_back(encode_pair(tokenizer, context, task.delimiter + item.continuations[0], add_bos));
  } else {
    for (const std::string& continuation : item.continuations)
      requests.push_back(encode_pair(tokenizer, item.contexts[0], task.delimiter + continuation, add_bos));
  }
  return requests;
}

namespace {

std::vector<double> logprobs_of(const std::vector<LoglikResult>& results) {
  std::vector<double> logprobs;
  for (const LoglikResult& r : results) logprobs.push_back(r.logprob);
  return logprobs;
}

void add_subject_means(TaskResult& result, const std::map<std::string, std::vector<double>>& per_group) {
  std::vector<double> means;
  for (const auto& [group, correct] : per_group) {
    result.groups[group] = mean_with_stderr(correct);
    means.push_back(result.groups[group].value);
  }
  MetricValue subject_mean = mean_with_stderr(means);
  subject_mean.stderr_value = 0.0;  // a mean of subject means has no lm-eval stderr
  result.metrics["acc_subject_mean"] = subject_mean;
}

}  // namespace

TaskResult aggregate_task(const TaskData& task, const std::vector<TaskItem>& items,
                          const std::vector<std::vector<LoglikResult>>& per_item) {
  TaskResult result{task.name, task.headline};
  std::vector<double> acc, acc_norm, greedy_logprob;
  std::map<std::string, std::vector<double>> per_group;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::vector<LoglikResult>& scored = per_item[i];
    if (task.kind == TaskKind::kGreedy) {
      acc.push_back(scored[0].greedy ? 1.0 : 0.0);
      greedy_logprob.push_back(scored[0].logprob);
      continue;
    }
    std::vector<double> logprobs = logprobs_of(scored);
    acc.push_back(static_cast<int>(argmax_index(logprobs)) == items[i].gold ? 1.0 : 0.0);
    if (task.has_acc_norm)
      acc_norm.push_back(static_cast<int>(argmax_index(length_normalized(logprobs, items[i].continuations))) ==
                                 items[i].gold ? 1.0 : 0.0);
    if (!items[i].group.empty()) per_group[items[i].group].push_back(acc.back());
  }
  result.metrics["acc"] = mean_with_stderr(acc);
  if (!acc_norm.empty()) result.metrics["acc_norm"] = mean_with_stderr(acc_norm);
  if (!greedy_logprob.empty()) {
    MetricValue mean_logprob = mean_with_stderr(greedy_logprob);
    double ppl = std::exp(-mean_logprob.value);
    // lm-eval reports the perplexity's stderr by the delta method: ppl * stderr(mean log-likelihood).
    result.metrics["perplexity"] = {ppl, ppl * mean_logprob.stderr_value, mean_logprob.n};
  }
  if (!per_group.empty()) add_subject_means(result, per_group);
  return result;
}

TaskResult evaluate_task(const LogProbModel& model, const Tokenizer& tokenizer, const TaskData& task,
                         const ZeroShotSettings& settings) {
  LMSHRINK_CHECK(settings.limit >= 0, "limit must be positive, got ", settings.limit);
  auto start = std::chrono::steady_clock::now();
  size_t count = settings.limit > 0 ? std::min(task.items.size(), static_cast<size_t>(settings.limit)) : task.items.size();
  std::vector<TaskItem> items(task.items.begin(), task.items.begin() + count);
  std::vector<LoglikRequest> requests;
  std::vector<size_t> first_request;
  for (const TaskItem& item : items) {
    first_request.push_back(requests.size());
    for (LoglikRequest& request : item_requests(task, item, tokenizer, settings.add_bos)) requests.push_back(std::move(request));
  }
  std::vector<LoglikResult> scored = score_loglikelihood(model, requests, settings.batch_size, task.name, settings.share_prefixes);
  std::vector<std::vector<LoglikResult>> per_item(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    size_t end = i + 1 < items.size() ? first_request[i + 1] : scored.size();
    per_item[i].assign(scored.begin() + first_request[i], scored.begin() + end);
  }
  TaskResult result = aggregate_task(task, items, per_item);
  result.requests = static_cast<int64_t>(requests.size());
  for (const LoglikResult& r : scored) result.truncated += r.truncated;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace lmshrink
