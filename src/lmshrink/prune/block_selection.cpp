// Greedy non-overlapping window selection and lowest-influence layers (see block_selection.h).
#include "lmshrink/prune/block_selection.h"

#include <sstream>

#include <algorithm>
#include <numeric>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

bool overlaps(const BlockRange& a, const BlockRange& b) { return a.first <= b.last && b.first <= a.last; }

// Indices 0 .. values.size()-1 sorted by value, ties by index.
std::vector<int64_t> order_by_value(const std::vector<double>& values) {
  std::vector<int64_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return values[a] < values[b]; });
  return order;
}

}  // namespace

std::string describe(const BlockRange& range) {
  return range.first == range.last ? std::to_string(range.first) : str_cat(range.first, "-", range.last);
}

std::vector<BlockRange> select_block_ranges(const std::vector<double>& distances, int64_t blocks, int64_t num_ranges,
                                            bool merge_consecutive) {
  int64_t windows = static_cast<int64_t>(distances.size());
  int64_t removable = windows + blocks - 1;  // blocks 1 .. N-1
  LMSHRINK_CHECK(blocks >= 1, "prune.blocks must be at least 1, got ", blocks);
  LMSHRINK_CHECK(num_ranges >= 1, "prune.num_ranges must be at least 1, got ", num_ranges);
  LMSHRINK_CHECK(windows >= 1, "prune.blocks ", blocks, ": no window of that size fits the model");
  LMSHRINK_CHECK(num_ranges * blocks <= removable, "prune.num_ranges ", num_ranges, " x prune.blocks ", blocks,
                 " requests overlapping ranges: ", num_ranges * blocks, " blocks, but only ", removable,
                 " are removable (block 0 is kept)");
  std::vector<BlockRange> taken;
  for (int64_t l : order_by_value(distances)) {
    BlockRange candidate{l + 1, l + blocks};
    bool free = std::none_of(taken.begin(), taken.end(), [&](const BlockRange& r) { return overlaps(r, candidate); });
    if (free) taken.push_back(candidate);
    if (static_cast<int64_t>(taken.size()) == num_ranges) break;
  }
  LMSHRINK_CHECK(static_cast<int64_t>(taken.size()) == num_ranges, "prune.num_ranges ", num_ranges, " x prune.blocks ",
                 blocks, ": after the greedy choice by distance only ", taken.size(),
                 " non-overlapping windows fit (more would overlap); ask for fewer ranges or blocks");
  std::sort(taken.begin(), taken.end(), [](const BlockRange& a, const BlockRange& b) { return a.first < b.first; });
  return merge_consecutive ? merge_touching_ranges(taken) : taken;
}

std::vector<int64_t> lowest_influence_layers(const std::vector<double>& influence, int64_t count) {
  LMSHRINK_CHECK(count >= 1 && count < static_cast<int64_t>(influence.size()), "prune.blocks ", count, ": expected 1 .. ",
                 influence.size() - 1, " (the model has ", influence.size(), " layers)");
  std::vector<int64_t> order = order_by_value(influence);
  std::vector<int64_t> layers(order.begin(), order.begin() + count);
  std::sort(layers.begin(), layers.end());
  return layers;
}

void check_block_ranges(const std::vector<BlockRange>& ranges, int64_t num_layers, int64_t first_allowed) {
  LMSHRINK_CHECK(!ranges.empty(), "prune: no block range to remove");
  int64_t removed = 0;
  for (size_t i = 0; i < ranges.size(); ++i) {
    const BlockRange& r = ranges[i];
    LMSHRINK_CHECK(r.first <= r.last, "prune: block range ", r.first, "-", r.last, " is empty");
    LMSHRINK_CHECK(r.first >= first_allowed && r.last < num_layers, "prune: block range ", describe(r),
                   " outside the removable blocks ", first_allowed, "-", num_layers - 1);
    LMSHRINK_CHECK(i == 0 || ranges[i - 1].last < r.first, "prune: block ranges ", describe(ranges[i - 1]), " and ",
                   describe(r), " overlap or are not in order");
    removed += r.size();
  }
  LMSHRINK_CHECK(removed < num_layers, "prune: the ranges remove all ", num_layers, " blocks");
}

std::vector<BlockRange> merge_touching_ranges(const std::vector<BlockRange>& ranges) {
  std::vector<BlockRange> merged;
  for (const BlockRange& r : ranges) {
    if (!merged.empty() && merged.back().last + 1 == r.first) {
      merged.back().last = r.last;
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

std::vector<BlockRange> parse_block_ranges(const std::string& text) {
  std::vector<BlockRange> ranges;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    BlockRange range;
    size_t dash = item.find('-');
    try {
      size_t used = 0;
      range.first = std::stoll(item, &used);
      LMSHRINK_CHECK(used == (dash == std::string::npos ? item.size() : dash), "");
      range.last = range.first;
      if (dash != std::string::npos) {
        std::string last = item.substr(dash + 1);
        range.last = std::stoll(last, &used);
        LMSHRINK_CHECK(used == last.size(), "");
      }
    } catch (const std::exception&) {
      fail("prune.ranges: expected comma-separated blocks or FIRST-LAST ranges (0-based), got '", text, "'");
    }
    ranges.push_back(range);
  }
  LMSHRINK_CHECK(!ranges.empty(), "prune.ranges: no range given");
  return ranges;
}

}  // namespace lmshrink
