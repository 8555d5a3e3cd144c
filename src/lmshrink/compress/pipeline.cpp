// Width-compression driver: block-by-block statistics, per-matrix method dispatch (see pipeline.h).
#include "lmshrink/compress/pipeline.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <sstream>

#include "lmshrink/calib/streaming.h"
#include "lmshrink/compress/asvd.h"
#include "lmshrink/compress/rank.h"
#include "lmshrink/compress/svd.h"
#include "lmshrink/compress/svd_llm.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The block's member for a projection name (const or mutable, following the block).
template <class Block>
auto& projection_member(Block& block, const std::string& projection) {
  if (projection == "q_proj") return block.q_proj;
  if (projection == "k_proj") return block.k_proj;
  if (projection == "v_proj") return block.v_proj;
  if (projection == "o_proj") return block.o_proj;
  if (projection == "gate_proj") return block.gate_proj;
  if (projection == "up_proj") return block.up_proj;
  if (projection == "down_proj") return block.down_proj;
  fail("unknown projection ", projection);
}

LinearInput projection_input(const std::string& projection) {
  if (projection == "q_proj" || projection == "k_proj" || projection == "v_proj") return LinearInput::kQkv;
  if (projection == "o_proj") return LinearInput::kO;
  if (projection == "gate_proj" || projection == "up_proj") return LinearInput::kGateUp;
  return LinearInput::kDown;
}

std::string layer_name(int64_t layer, const std::string& projection) {
  bool attention = projection_input(projection) == LinearInput::kQkv || projection == "o_proj";
  return str_cat("model.layers.", layer, attention ? ".self_attn." : ".mlp.", projection);
}

// One matrix through the chosen method.
CompressedLayer compress_one(std::unique_ptr<Linear>& slot, const std::string& name, const LayerStats* stats,
                             const CompressOptions& options) {
  const Linear& layer = *slot;
  CompressedLayer record{name, layer.in_features(), layer.out_features()};
  record.rank = low_rank_for_ratio(record.in_features, record.out_features, options.ratio, name);
  record.params_before = layer.params().values;
  record.bytes_before = layer.params().bytes;
  std::unique_ptr<Linear> compressed;
  if (options.method == "svd") {
    compressed = compress_svd(layer, record.rank);
  } else if (options.method == "asvd") {
    compressed = compress_asvd(layer, stats->channel_abs_mean(), record.rank, options.asvd_alpha);
  } else {
    LMSHRINK_CHECK(stats->gram.defined(), name, ": no calibration statistics for its input");
    SvdLlmResult r = compress_svd_llm(layer, stats->gram.to(torch::kCPU), record.rank);
    compressed = std::move(r.layer);
    record.gram_shift = r.gram_shift;
    record.truncation_loss = r.truncation_loss;
  }
  record.params_after = compressed->params().values;
  record.bytes_after = compressed->params().bytes;
  slot = std::move(compressed);
  return record;
}

int64_t skipped(const BlockStats& stats) {
  return stats.qkv.skipped_batches + stats.o.skipped_batches + stats.gate_up.skipped_batches +
         stats.down.skipped_batches;
}

}  // namespace

std::unique_ptr<Linear>& projection_slot(TransformerBlock& block, const std::string& projection) {
  return projection_member(block, projection);
}

const std::vector<std::string>& all_projections() {
  static const std::vector<std::string> names{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  return names;
}

std::vector<std::string> parse_targets(const std::string& list) {
  const std::vector<std::string>& all = all_projections();
  std::vector<std::string> chosen;
  std::stringstream items(list);
  for (std::string item; std::getline(items, item, ',');) {
    std::vector<std::string> names;
    if (item == "all") names = all;
    else if (item == "attn") names = {"q_proj", "k_proj", "v_proj", "o_proj"};
    else if (item == "mlp") names = {"gate_proj", "up_proj", "down_proj"};
    else names = {item.size() > 5 && item.substr(item.size() - 5) == "_proj" ? item : item + "_proj"};
    for (const std::string& name : names) {
      LMSHRINK_CHECK(std::find(all.begin(), all.end(), name) != all.end(), "--targets: unknown projection '", item,
                     "' (use all, attn, mlp or a comma list of q,k,v,o,gate,up,down)");
      chosen.push_back(name);
    }
  }
  LMSHRINK_CHECK(!chosen.empty(), "--targets: empty list");
  std::vector<std::string> ordered;  // block order, once each, whatever order the user wrote
  for (const std::string& name : all) {
    if (std::find(chosen.begin(), chosen.end(), name) != chosen.end()) ordered.push_back(name);
  }
  return ordered;
}

bool method_needs_calibration(const std::string& method) { return method != "svd"; }

void check_compress_options(const Transformer& model, const CompressOptions& options) {
  LMSHRINK_CHECK(options.method == "svd" || options.method == "asvd" || options.method == "svd-llm",
                 "--method: unknown method '", options.method, "' (supported: svd, asvd, svd-llm)");
  LMSHRINK_CHECK(options.mode == "one-shot" || options.mode == "sequential", "--mode: unknown mode '", options.mode,
                 "' (one-shot or sequential)");
  LMSHRINK_CHECK(!options.targets.empty(), "--targets: no projection selected");
  LMSHRINK_CHECK(options.batch_size > 0, "calibration batch size must be positive");
  LMSHRINK_CHECK(options.asvd_alpha > 0.0, "--asvd-alpha must be positive, got ", options.asvd_alpha);
  const TransformerBlock& block = model.blocks().at(0);
  for (const std::string& projection : options.targets) {
    const Linear& layer = *projection_member(block, projection);
    low_rank_for_ratio(layer.in_features(), layer.out_features(), options.ratio, layer_name(0, projection));
  }
}

CompressResult compress_model(Transformer& model, const at::Tensor& calib_tokens, const CompressOptions& options,
                              const std::vector<BlockStats>* cached_stats) {
  check_compress_options(model, options);
  int64_t num_layers = model.config().num_layers;
  bool calibrate = method_needs_calibration(options.method);
  LMSHRINK_CHECK(!cached_stats || static_cast<int64_t>(cached_stats->size()) == num_layers,
                 "cached statistics cover ", cached_stats ? cached_stats->size() : 0, " blocks, the model has ", num_layers);
  LMSHRINK_CHECK(!cached_stats || options.mode == "one-shot", "cached statistics are one-shot; --mode sequential recalibrates");
  CompressResult result;
  std::optional<BlockStreamer> streamer;
  if (calibrate && !cached_stats) {
    Clock::time_point start = Clock::now();
    streamer.emplace(model, calib_tokens, options.batch_size);
    result.calibration_seconds += seconds_since(start);
  }
  torch::NoGradGuard no_grad;
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    BlockStats streamed;
    const BlockStats* stats = nullptr;
    bool last = layer + 1 == num_layers;
    Clock::time_point start = Clock::now();
    if (cached_stats) {
      stats = &(*cached_stats)[layer];
    } else if (streamer) {
      // one-shot: block l's outputs are computed before it is compressed, so later blocks see the original.
      streamed = options.mode == "one-shot" && !last ? streamer->collect_and_advance(layer) : streamer->collect(layer);
      stats = &streamed;
    }
    result.calibration_seconds += seconds_since(start);
    if (stats) result.skipped_batches += skipped(*stats);
    start = Clock::now();
    Progress progress(str_cat(options.method, " block ", layer), static_cast<int64_t>(options.targets.size()),
                      progress_quiet());
    for (const std::string& projection : options.targets) {
      const LayerStats* input_stats = stats ? &stats->of(projection_input(projection)) : nullptr;
      std::unique_ptr<Linear>& slot = projection_slot(model.mutable_blocks()[layer], projection);
      result.layers.push_back(compress_one(slot, layer_name(layer, projection), input_stats, options));
      progress.advance();
    }
    progress.finish();
    result.decomposition_seconds += seconds_since(start);
    if (streamer && options.mode == "sequential" && !last) {
      start = Clock::now();
      streamer->advance(layer);  // with block l's compressed weights
      result.calibration_seconds += seconds_since(start);
    }
  }
  return result;
}

}  // namespace lmshrink
