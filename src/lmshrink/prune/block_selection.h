// Which blocks depth pruning removes (ALGORITHMS.md §1.7 and §6.1).
//   ReplaceMe / UIDL: window l (distance d_l, block_distance.h) removes blocks l+1 .. l+n; one range is
//     argmin_l d_l. Several ranges (ReplaceMe num_A > 1, utils.py select_non_overlapping_blocks): sort
//     the windows by distance (ties: lower l first) and greedily take those that overlap no window
//     taken so far, until num_ranges are taken; with merge_consecutive, windows that touch (one ends
//     where the next begins) fuse into one range that gets one transform.
//   ShortGPT: the `count` layers of lowest Block Influence, whatever their positions.
// Block 0 is never in a ReplaceMe/UIDL window: the transform is merged into the block before a range.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lmshrink {

// Blocks first .. last (inclusive), 0-based layer indices of the original model.
struct BlockRange {
  int64_t first = 0;
  int64_t last = 0;
  int64_t size() const { return last - first + 1; }
};

std::string describe(const BlockRange& range);  // "2-3" or "4"
// "2-3,5" -> {2, 3}, {5, 5}: 0-based inclusive ranges (field prune.ranges); throws lmshrink::Error on other text.
std::vector<BlockRange> parse_block_ranges(const std::string& text);

// distances: d_l for l = 0 .. N-1-blocks. Returns the ranges sorted by first block. Throws an Error
// when num_ranges windows of `blocks` cannot be placed without overlapping (naming the fields prune.num_ranges and prune.blocks).
std::vector<BlockRange> select_block_ranges(const std::vector<double>& distances, int64_t blocks, int64_t num_ranges,
                                            bool merge_consecutive);

// Indices of the `count` smallest influences, ascending by index (ties: lower index first).
std::vector<int64_t> lowest_influence_layers(const std::vector<double>& influence, int64_t count);

// Checks explicit or selected ranges against a model of num_layers blocks: inside [first_allowed,
// num_layers), sorted, non-overlapping, and at least one block kept. Errors name the ranges.
void check_block_ranges(const std::vector<BlockRange>& ranges, int64_t num_layers, int64_t first_allowed);

// Fuses ranges that touch (a.last + 1 == b.first); input sorted and non-overlapping.
std::vector<BlockRange> merge_touching_ranges(const std::vector<BlockRange>& ranges);

}  // namespace lmshrink
