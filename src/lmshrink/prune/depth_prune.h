// Depth-pruning driver (ALGORITHMS.md §1.7 and §6): choose the blocks, fit and merge the ReplaceMe
// transforms, delete the blocks. Methods:
//   replaceme  UIDL/ReplaceMe window selection (block_distance.h, block_selection.h), then per range a
//              linear map T fitted on calibration activations (range_capture.h) by least squares
//              (lstsq_transform.h) or cosine distance (cosine_transform.h), merged into the down_proj
//              of the last kept block (merge.h).
//   uidl       the same selection, blocks dropped with no transform (mts-ai/ReplaceMe uidl_method.py:
//              Gromov et al. without healing).
//   shortgpt   the `blocks` layers of lowest Block Influence dropped, no transform.
// Several ranges (num_ranges > 1) are fitted in ascending order, each on the model with the earlier
// ranges already removed and merged (sequential, ALGORITHMS.md §8 item 4 b): the reference does this
// for the cosine objective; for least squares it takes all ranges' statistics from the original model.
// With one range (the default) both are the same. A range ending at the last layer fits against the
// pre-final-norm output of layer N-1 (range_capture.h).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lmshrink/model/transformer.h"
#include "lmshrink/prune/block_distance.h"
#include "lmshrink/prune/block_selection.h"
#include "lmshrink/prune/cosine_transform.h"

namespace lmshrink {

struct PruneOptions {
  std::string method = "replaceme";   // replaceme, uidl, shortgpt
  std::string objective = "lstsq";    // replaceme: lstsq or cosine
  int64_t blocks = 0;                 // n: blocks per range (shortgpt: layers removed)
  int64_t num_ranges = 1;             // replaceme/uidl: non-overlapping windows of n blocks
  bool merge_consecutive = false;     // fuse touching windows into one range with one transform
  std::string distance_tokens;        // "last" or "all"; empty: last (replaceme, uidl), all (shortgpt)
  double ridge = 0.0;                 // lstsq: M^T M + ridge I
  CosineOptions cosine;               // cosine: Adam settings and penalties
  int64_t batch_size = 8;             // calibration samples per block forward
  std::vector<BlockRange> ranges;     // replaceme/uidl: explicit ranges instead of the selection
};

// The fit of one range (replaceme).
struct RangeFit {
  BlockRange range;
  int64_t merged_into = -1;          // original index of the block whose down_proj took T
  int64_t tokens = 0;
  double relative_error_identity = 0.0;  // ||M - R|| / ||R||: the error of dropping the range (T = I)
  double relative_error = 0.0;           // ||M T - R|| / ||R||
  double cosine_identity = 0.0;          // mean (1 - cos(M, R))
  double cosine_fitted = 0.0;            // mean (1 - cos(M T, R))
  std::vector<double> epoch_loss;        // cosine objective: [0] identity, [e] after epoch e
};

struct PruneResult {
  std::unique_ptr<Transformer> model;   // the pruned model
  std::string table_kind;               // "angular_distance" (d_l, l = window) or "block_influence" (BI_i)
  std::vector<double> table;            // the selection statistic per window / layer
  std::string distance_tokens;          // "last" or "all"
  std::vector<BlockRange> ranges;       // removed, original indices, ascending (shortgpt: single layers)
  std::vector<int64_t> removed_layers;  // original indices, ascending
  std::vector<RangeFit> fits;           // replaceme only
  double selection_seconds = 0.0, fit_seconds = 0.0;
};

bool method_is_prune(const std::string& method);

// Checks options against the model before any calibration: method and objective names, n in
// [1, N-1], num_ranges x n fitting without overlap, explicit ranges, dense down_proj (replaceme).
void check_prune_options(const Transformer& model, const PruneOptions& options);

// Calibration tokens the options need: hidden_size for replaceme (the d x d system has d^2 unknowns,
// d equations per token; lstsq with a ridge: 1), 1 otherwise.
int64_t prune_min_calibration_tokens(const Transformer& model, const PruneOptions& options);
// Throws an Error saying how many tokens are needed when `tokens` is below prune_min_calibration_tokens.
void check_calibration_tokens(const Transformer& model, const PruneOptions& options, int64_t tokens);

// calib_tokens: int64 [n_samples, seq]. Takes the model (its blocks move into the result).
PruneResult prune_model(std::unique_ptr<Transformer> model, const at::Tensor& calib_tokens,
                        const PruneOptions& options);

}  // namespace lmshrink
