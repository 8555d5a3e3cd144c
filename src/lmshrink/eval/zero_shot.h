// Zero-shot (and MMLU k-shot) evaluation of one task with lm-eval-harness 0.4 conventions: every
// (context, delimiter + continuation) pair becomes one log-likelihood request (encode_pair.h), all
// of a task's requests are scored in one batched, length-sorted pass, and the per-item decisions are
// aggregated with lm-eval's standard errors (metrics.h). Metrics per kind (task.h):
//   kChoice: acc, acc_norm (where meaningful); mmlu also the mean over subjects (acc_subject_mean)
//   kPartial: acc;  kGreedy: acc (greedy match) and perplexity = exp(-mean log-likelihood).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lmshrink/eval/log_prob_model.h"
#include "lmshrink/eval/loglikelihood.h"
#include "lmshrink/eval/metrics.h"
#include "lmshrink/eval/task.h"
#include "lmshrink/tokenizer/tokenizer.h"

namespace lmshrink {

struct ZeroShotSettings {
  int64_t limit = 0;  // evaluate the first `limit` items only; 0 = all
  int64_t batch_size = 16;
  bool add_bos = true;
  bool share_prefixes = true;  // one prefix pass per question (loglikelihood.h)
};

struct TaskResult {
  std::string task;
  std::string headline;                        // the metric papers usually report for it
  std::map<std::string, MetricValue> metrics;  // "acc", "acc_norm", "perplexity", "acc_subject_mean"
  std::map<std::string, MetricValue> groups;   // mmlu: acc per subject
  int64_t requests = 0;
  int64_t truncated = 0;  // requests whose continuation was longer than the context (loglikelihood.h)
  double seconds = 0.0;
};

// The log-likelihood requests of one item, in the order the scorer returns their results.
std::vector<LoglikRequest> item_requests(const TaskData& task, const TaskItem& item, const Tokenizer& tokenizer,
                                         bool add_bos);

// Turns the scored requests of every item into the task's metrics (results in item_requests order).
TaskResult aggregate_task(const TaskData& task, const std::vector<TaskItem>& items,
                          const std::vector<std::vector<LoglikResult>>& per_item);

TaskResult evaluate_task(const LogProbModel& model, const Tokenizer& tokenizer, const TaskData& task,
                         const ZeroShotSettings& settings);

}  // namespace lmshrink
