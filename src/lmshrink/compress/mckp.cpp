// Multi-choice knapsack by dynamic programming, and ROCKET's error cap (see mckp.h).
#include "lmshrink/compress/mckp.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kMaxTableCells = int64_t{1} << 29;  // backtrack entries (2 bytes each) of a precision retry: 1 GiB

int64_t option_weight(double removed, double scale) {
  return std::max<int64_t>(0, static_cast<int64_t>(std::floor(removed * scale + 1e-9)));
}

// The largest reachable removed fraction, for the error message.
double max_removed(const std::vector<KnapsackItem>& items) {
  double sum = 0.0;
  for (const KnapsackItem& item : items) {
    double best = -kInf;
    for (const KnapsackOption& o : item) {
      if (o.allowed) best = std::max(best, o.removed);
    }
    sum += best;
  }
  return sum;
}

// The DP at one precision; nullopt when no combination's rounded-down weights reach the target's steps.
std::optional<KnapsackSolution> solve_at(const std::vector<KnapsackItem>& items, double total, double target_removed,
                                         int64_t precision) {
  double scale = static_cast<double>(precision) / total;
  int64_t target = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(target_removed * scale - 1e-9)));
  LMSHRINK_CHECK(target <= precision, "knapsack: the target ", target_removed / total, " of the words is not below 1");
  size_t n = items.size();
  std::vector<double> cost(target + 1, kInf), next(target + 1);
  cost[0] = 0.0;
  std::vector<std::vector<uint16_t>> pick(n, std::vector<uint16_t>(target + 1, 0));
  std::vector<int64_t> saturated_from(n, 0);  // the predecessor of the merged state `target`, per item
  for (size_t i = 0; i < n; ++i) {
    std::fill(next.begin(), next.end(), kInf);
    for (size_t o = 0; o < items[i].size(); ++o) {
      if (!items[i][o].allowed) continue;
      int64_t w = option_weight(items[i][o].removed, scale);
      double error = items[i][o].error;
      for (int64_t state = 0; state <= target; ++state) {
        if (cost[state] == kInf) continue;
        int64_t to = std::min(target, state + w);
        if (cost[state] + error >= next[to]) continue;
        next[to] = cost[state] + error;
        pick[i][to] = static_cast<uint16_t>(o);
        if (to == target) saturated_from[i] = state;
      }
    }
    cost.swap(next);
  }
  if (cost[target] == kInf) return std::nullopt;
  KnapsackSolution solution;
  solution.choice.assign(n, 0);
  solution.target_steps = target;
  int64_t state = target;
  for (size_t i = n; i-- > 0;) {
    int64_t o = pick[i][state];
    solution.choice[i] = o;
    const KnapsackOption& option = items[i][o];
    solution.removed += option.removed;
    solution.error += option.error;
    int64_t w = option_weight(option.removed, scale);
    solution.achieved_steps += w;
    state = state == target ? saturated_from[i] : state - w;
  }
  return solution;
}

}  // namespace

KnapsackSolution solve_mckp(const std::vector<KnapsackItem>& items, double total, double target_removed, int64_t precision) {
  LMSHRINK_CHECK(!items.empty() && total > 0, "knapsack: no matrices to allocate");
  LMSHRINK_CHECK(precision >= 1 && precision <= 10'000'000, "rocket.precision: expected 1 .. 10,000,000 steps, got ", precision);
  for (size_t i = 0; i < items.size(); ++i) {
    bool any = std::any_of(items[i].begin(), items[i].end(), [](const KnapsackOption& o) { return o.allowed; });
    LMSHRINK_CHECK(any && items[i].size() <= 65535, "knapsack: matrix ", i, " has no allowed option (or more than 65535)");
  }
  // Rounding each weight down can lose up to one step per matrix, so a target that the exact weights reach by less
  // than that margin fails at this precision: retry finer while the table stays within kMaxTableCells.
  bool reachable = max_removed(items) >= target_removed * (1 - 1e-12);
  for (int64_t steps = precision;; steps *= 4) {
    if (std::optional<KnapsackSolution> solution = solve_at(items, total, target_removed, steps)) return *solution;
    if (!reachable || steps * 4 * static_cast<int64_t>(items.size()) > kMaxTableCells) break;
  }
  fail("knapsack: no combination of the allowed options removes ", target_removed / total,
       " of the words; the most any combination removes is ", max_removed(items) / total);
}

double apply_error_cap(std::vector<KnapsackItem>& items, double target_ratio, double total) {
  // ē: mean error at the grid rate closest to the target (rate 0, the uncompressed option, excluded).
  double mean_error = 0.0;
  for (const KnapsackItem& item : items) {
    const KnapsackOption* closest = nullptr;
    for (const KnapsackOption& o : item) {
      if (o.rate > 0 && (!closest || std::abs(o.rate - target_ratio) < std::abs(closest->rate - target_ratio))) closest = &o;
    }
    mean_error += closest ? closest->error : 0.0;
  }
  mean_error /= static_cast<double>(items.size());
  auto least_error = [](const KnapsackItem& item) {
    size_t best = 0;
    for (size_t o = 0; o < item.size(); ++o) {
      if (item[o].rate > 0 && (item[best].rate == 0 || item[o].error < item[best].error)) best = o;
    }
    return best;
  };
  auto greedy_removed = [&](double alpha) {  // per matrix the largest-rate option within α ē
    double removed = 0.0;
    for (const KnapsackItem& item : items) {
      const KnapsackOption* chosen = &item[least_error(item)];
      for (const KnapsackOption& o : item) {
        if (o.rate > 0 && o.error <= alpha * mean_error && (chosen->error > alpha * mean_error || o.rate > chosen->rate)) chosen = &o;
      }
      removed += chosen->removed;
    }
    return removed;
  };
  double alpha_min = -1.0;
  for (int step = 0; step <= 10 && alpha_min < 0; ++step) {
    double alpha = 1.0 + 0.1 * step;
    if (greedy_removed(alpha) >= target_ratio * total * (1 - 1e-12)) alpha_min = alpha;
  }
  if (alpha_min < 0) return -1.0;
  for (KnapsackItem& item : items) {
    size_t keep = least_error(item);
    bool any = false;  // a compressed option left: the greedy rule above counted one per matrix, so keep one
    for (KnapsackOption& o : item) {
      if (o.rate > 0 && (o.error > alpha_min * mean_error || o.error < 0 || o.error >= 2)) o.allowed = false;
      any = any || (o.rate > 0 && o.allowed);
    }
    if (!any) item[keep].allowed = true;
  }
  return alpha_min;
}

}  // namespace lmshrink
