// Depth-pruning driver: selection, per-range ReplaceMe fit and merge, block deletion (see depth_prune.h).
#include "lmshrink/util/stopwatch.h"
#include "lmshrink/prune/depth_prune.h"

#include <chrono>

#include "lmshrink/model/projections.h"
#include "lmshrink/prune/lstsq_transform.h"
#include "lmshrink/prune/merge.h"
#include "lmshrink/prune/range_capture.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

using Clock = std::chrono::steady_clock;


DistanceTokens distance_tokens_of(const PruneOptions& options) {
  if (options.distance_tokens.empty()) return options.method == "shortgpt" ? DistanceTokens::kAll : DistanceTokens::kLast;
  return parse_distance_tokens(options.distance_tokens);
}

std::string down_proj_name(int64_t layer) { return projection_layer_name(layer, "down_proj"); }

// ||M T - R||_F / ||R||_F and mean (1 - cos(M T, R)) over all rows, in float64 chunks.
struct FitError {
  double relative = 0.0;
  double cosine = 0.0;
};

FitError fit_error(const at::Tensor& m, const at::Tensor& r, const at::Tensor& transform) {
  torch::NoGradGuard no_grad;
  at::Tensor t64 = transform.to(torch::kCPU, torch::kFloat64);
  double residual = 0.0, target = 0.0, cosine = 0.0;
  const int64_t chunk = 65536;
  for (int64_t row = 0; row < m.size(0); row += chunk) {
    int64_t count = std::min(chunk, m.size(0) - row);
    at::Tensor mt = m.narrow(0, row, count).to(torch::kCPU, torch::kFloat64).matmul(t64);
    at::Tensor r64 = r.narrow(0, row, count).to(torch::kCPU, torch::kFloat64);
    residual += (mt - r64).pow(2).sum().item<double>();
    target += r64.pow(2).sum().item<double>();
    cosine += (1.0 - torch::cosine_similarity(mt, r64, 1, 1e-8)).sum().item<double>();
  }
  return {std::sqrt(residual / std::max(target, 1e-300)), cosine / static_cast<double>(m.size(0))};
}

// Fits one range's transform on the current model and merges it; marks the range dropped.
RangeFit fit_and_merge_range(Transformer& model, const at::Tensor& calib_tokens, const BlockRange& range,
                             std::vector<bool>& dropped, const PruneOptions& options) {
  RangeActivations acts = capture_range(model, calib_tokens, range, dropped, options.batch_size);
  RangeFit fit;
  fit.range = range;
  fit.merged_into = acts.kept_block;
  fit.tokens = acts.mlp_out.size(0);
  at::Tensor transform;  // [hidden, hidden] float64
  if (options.objective == "lstsq") {
    LstsqAccumulator normal_equations(model.config().hidden_size);
    normal_equations.add(acts.mlp_out, acts.target);
    transform = solve_lstsq_transform(normal_equations, options.ridge);
  } else {
    CosineFit cosine = fit_cosine_transform(acts.mlp_out, acts.target, options.cosine);
    transform = cosine.transform;
    fit.epoch_loss = cosine.epoch_loss;
  }
  FitError identity = fit_error(acts.mlp_out, acts.target, torch::eye(model.config().hidden_size, torch::kFloat64));
  FitError fitted = fit_error(acts.mlp_out, acts.target, transform);
  fit.relative_error_identity = identity.relative;
  fit.cosine_identity = identity.cosine;
  fit.relative_error = fitted.relative;
  fit.cosine_fitted = fitted.cosine;
  merge_transform_into_down_proj(model.mutable_blocks()[acts.kept_block], transform, down_proj_name(acts.kept_block));
  for (int64_t layer = range.first; layer <= range.last; ++layer) dropped[layer] = true;
  return fit;
}

}  // namespace

bool method_is_prune(const std::string& method) {
  return method == "replaceme" || method == "uidl" || method == "shortgpt";
}

void check_prune_options(const Transformer& model, const PruneOptions& options) {
  int64_t num_layers = model.config().num_layers;
  LMSHRINK_CHECK(method_is_prune(options.method), "prune.method: expected replaceme, uidl or shortgpt, got '",
                 options.method, "'");
  bool replaceme = options.method == "replaceme";
  LMSHRINK_CHECK(options.objective == "lstsq" || options.objective == "cosine",
                 "prune.objective: expected lstsq or cosine, got '", options.objective, "'");
  if (!options.distance_tokens.empty()) parse_distance_tokens(options.distance_tokens);
  LMSHRINK_CHECK(options.batch_size > 0, "prune.batch_size must be positive, got ", options.batch_size);
  LMSHRINK_CHECK(options.ridge >= 0, "prune.ridge must be non-negative, got ", options.ridge);
  const CosineOptions& c = options.cosine;
  LMSHRINK_CHECK(c.epochs >= 0 && c.lr > 0 && c.batch_tokens > 0 && c.l1 >= 0 && c.l2 >= 0,
                 "cosine objective: need prune.cosine.epochs >= 0, prune.cosine.lr > 0, prune.cosine.batch_tokens > 0, prune.cosine.l1 "
                 "and prune.cosine.l2 >= 0");
  if (options.ranges.empty()) {
    LMSHRINK_CHECK(options.blocks >= 1 && options.blocks < num_layers, "prune.blocks ", options.blocks, ": expected 1 .. ",
                   num_layers - 1, " (the model has ", num_layers, " layers and keeps at least one)");
    LMSHRINK_CHECK(options.num_ranges >= 1, "prune.num_ranges must be at least 1, got ", options.num_ranges);
    LMSHRINK_CHECK(options.method != "shortgpt" || options.num_ranges == 1,
                   "prune.num_ranges applies to replaceme and uidl; shortgpt removes the prune.blocks lowest-influence layers");
    int64_t removable = num_layers - 1;  // windows never include block 0
    LMSHRINK_CHECK(options.method == "shortgpt" || options.num_ranges * options.blocks <= removable, "prune.num_ranges ",
                   options.num_ranges, " x prune.blocks ", options.blocks, " requests overlapping ranges: ",
                   options.num_ranges * options.blocks, " blocks, but only ", removable,
                   " are removable (block 0 is kept)");
  } else {
    LMSHRINK_CHECK(options.method != "shortgpt", "explicit ranges apply to replaceme and uidl, not shortgpt");
    check_block_ranges(options.ranges, num_layers, replaceme ? 1 : 0);
  }
  if (replaceme) {
    for (int64_t layer = 0; layer < num_layers; ++layer) {
      const Linear& down = *model.blocks()[layer].down_proj;
      LMSHRINK_CHECK(down.format() == "dense", down_proj_name(layer), " is stored as ", down.format(),
                     "; ReplaceMe merges into a dense down_proj (write a dense copy with `lmshrink export --dense`)");
    }
  }
  LMSHRINK_CHECK(model.lm_head_tied() || model.lm_head().format() == "dense", "prune: lm_head is stored as ",
                 model.lm_head().format(), "; expected dense");
}

int64_t prune_min_calibration_tokens(const Transformer& model, const PruneOptions& options) {
  if (options.method != "replaceme") return 1;
  if (options.objective == "lstsq" && options.ridge > 0) return 1;
  return lstsq_min_tokens(model.config().hidden_size);
}

void check_calibration_tokens(const Transformer& model, const PruneOptions& options, int64_t tokens) {
  int64_t needed = prune_min_calibration_tokens(model, options);
  int64_t hidden = model.config().hidden_size;
  LMSHRINK_CHECK(tokens >= needed, "calibration: ", tokens, " tokens are too few for ReplaceMe's ", hidden, " x ",
                 hidden, " linear transform: need at least ", needed, " (hidden_size) tokens, about hidden^2 = ",
                 hidden * hidden, " recommended; raise calib.n_samples or calib.seq_len",
                 options.objective == "lstsq" ? " (or give prune.ridge)" : "");
}

PruneResult prune_model(std::unique_ptr<Transformer> model, const at::Tensor& calib_tokens,
                        const PruneOptions& options) {
  check_prune_options(*model, options);
  LMSHRINK_CHECK(calib_tokens.dim() == 2, "calibration tokens: expected [n_samples, seq_len], got ",
                 calib_tokens.sizes());
  check_calibration_tokens(*model, options, calib_tokens.numel());
  PruneResult result;
  DistanceTokens tokens = distance_tokens_of(options);
  result.distance_tokens = distance_tokens_name(tokens);
  Clock::time_point start = Clock::now();
  if (options.method == "shortgpt") {
    result.table_kind = "block_influence";
    result.table = block_influence(*model, calib_tokens, tokens, options.batch_size);
    for (int64_t layer : lowest_influence_layers(result.table, options.blocks)) result.ranges.push_back({layer, layer});
  } else if (options.ranges.empty()) {
    result.table_kind = "angular_distance";
    result.table = angular_distances(*model, calib_tokens, options.blocks, tokens, options.batch_size);
    result.ranges = select_block_ranges(result.table, options.blocks, options.num_ranges, options.merge_consecutive);
  } else {
    result.table_kind = "explicit";
    result.ranges = options.merge_consecutive ? merge_touching_ranges(options.ranges) : options.ranges;
  }
  for (const BlockRange& r : result.ranges) {
    for (int64_t layer = r.first; layer <= r.last; ++layer) result.removed_layers.push_back(layer);
  }
  result.selection_seconds = seconds_since(start);
  start = Clock::now();
  if (options.method == "replaceme") {
    std::vector<bool> dropped(model->config().num_layers, false);
    for (const BlockRange& range : result.ranges) {
      result.fits.push_back(fit_and_merge_range(*model, calib_tokens, range, dropped, options));
    }
  }
  result.fit_seconds = seconds_since(start);
  result.model = remove_blocks(*model, result.removed_layers);
  return result;
}

}  // namespace lmshrink
