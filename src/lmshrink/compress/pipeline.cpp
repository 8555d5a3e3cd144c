// Width-compression driver: the plan (every matrix's size, decided before any work) and the block loop that
// calibrates each block and hands its matrices to the method's layer builder (see pipeline.h).
#include "lmshrink/util/stopwatch.h"
#include "lmshrink/compress/pipeline.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>

#include "lmshrink/calib/streaming.h"
#include "lmshrink/compress/allocation.h"
#include "lmshrink/compress/dict_group.h"
#include "lmshrink/compress/low_rank_builder.h"
#include "lmshrink/compress/rank.h"
#include "lmshrink/compress/rocket.h"
#include "lmshrink/compress/rocket_alloc.h"
#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink {

namespace {

using Clock = std::chrono::steady_clock;

// The size each targeted matrix gets, decided for the whole model before any work.
struct LayerPlan {
  int64_t rank = 0;   // low-rank methods
  DictSize dict;      // dict methods (shared by the layers of a group)
  double ratio = 0.0; // the matrix's removed fraction
  ProfileOption rocket;  // rocket: the allocated option (rate 0: left uncompressed)
};
using Plan = std::map<std::string, LayerPlan>;

Plan uniform_plan(const Transformer& model, const CompressOptions& options) {
  Plan plan;
  int64_t num_layers = model.config().num_layers;
  bool dict = method_is_dictionary(options.method);
  const DictionaryOptions& d = options.dictionary;
  for (const std::string& projection : options.targets) {
    for (auto [first, last] : group_windows(num_layers, dict ? d.groups : 1)) {
      const Linear& layer = projection_layer(model, first, projection);
      int64_t d1 = layer.in_features(), d2 = layer.out_features();
      LayerPlan entry{0, {}, options.ratio, {}};
      std::string what = projection_layer_name(first, projection);
      if (dict) {
        entry.dict = dict_size_for_ratio(d1, d2, last - first, options.ratio, d.atoms_per_nonzero, dict_cost(options),
                                         options.method == Method::kCompot ? d1 : 0, what);
      } else if (d.quantize_bits > 0) {  // quantized low rank: DictSparse with s = r (low_rank_builder.cpp)
        entry.rank = std::min(dict_size_for_ratio(d1, d2, 1, options.ratio, 1.0, dict_cost(options), 0, what).atoms,
                              std::min(d1, d2));
      } else {
        entry.rank = low_rank_for_ratio(d1, d2, options.ratio, what);
      }
      for (int64_t l = first; l < last; ++l) plan[projection_layer_name(l, projection)] = entry;
    }
  }
  return plan;
}

// dictionary.alloc dynamic: pooled-spectrum rates (allocation.h) for every targeted matrix of the model.
Plan dynamic_plan(const Transformer& model, const CompressOptions& options) {
  std::vector<AllocMatrix> matrices;
  for (int64_t l = 0; l < model.config().num_layers; ++l) {
    for (const std::string& projection : options.targets) {
      matrices.push_back(alloc_matrix(projection_layer_name(l, projection), projection_layer(model, l, projection).dense()));
    }
    release_mapped_pages();  // only the spectra are kept
  }
  const DictionaryOptions& d = options.dictionary;
  std::vector<double> ratios = pooled_spectrum_ratios(matrices, options.ratio, {d.alloc_min_ratio, d.alloc_max_ratio});
  std::vector<DictSize> sizes = sizes_within_budget(matrices, ratios, options.ratio, d.atoms_per_nonzero,
                                                    dict_cost(options), options.method == Method::kCompot);
  Plan plan;
  for (size_t i = 0; i < matrices.size(); ++i) plan[matrices[i].name] = LayerPlan{0, sizes[i], ratios[i], {}};
  return plan;
}

Plan make_plan(const Transformer& model, const CompressOptions& options) {
  return options.dictionary.alloc == Alloc::kDynamic ? dynamic_plan(model, options) : uniform_plan(model, options);
}

int64_t skipped(const BlockStats& s) {
  return s.qkv.skipped_batches + s.o.skipped_batches + s.gate_up.skipped_batches + s.down.skipped_batches;
}

// Compresses blocks [first, first + stats.size()) once all their statistics are in: a dictionary group per
// projection for the dict methods, one matrix at a time otherwise.
void compress_window(Transformer& model, int64_t first, const std::vector<const BlockStats*>& stats,
                     const CompressOptions& options, const Plan& plan, CompressResult& result) {
  int64_t count = static_cast<int64_t>(stats.size());
  std::string label = count == 1 ? str_cat(method_name(options.method), " block ", first)
                                 : str_cat(method_name(options.method), " blocks ", first, "-", first + count - 1);
  Progress progress(label, static_cast<int64_t>(options.targets.size()) * count);
  for (const std::string& projection : options.targets) {
    std::vector<std::unique_ptr<Linear>*> slots;
    std::vector<std::string> names;
    std::vector<const LayerStats*> inputs;
    for (int64_t l = 0; l < count; ++l) {
      slots.push_back(&projection_slot(model.mutable_blocks()[first + l], projection));
      names.push_back(projection_layer_name(first + l, projection));
      inputs.push_back(stats[l] ? &stats[l]->of(projection_input(projection)) : nullptr);
    }
    if (method_is_dictionary(options.method)) {
      const LayerPlan& group = plan.at(names[0]);
      std::vector<CompressedLayer> records =
          compress_dict_group(slots, names, inputs, options.method, options.dictionary, group.dict, group.ratio);
      result.layers.insert(result.layers.end(), records.begin(), records.end());
      progress.advance(count);
      continue;
    }
    for (int64_t l = 0; l < count; ++l) {
      const LayerPlan& layer_plan = plan.at(names[l]);
      result.layers.push_back(
          options.method == Method::kRocket
              ? compress_rocket_layer(*slots[l], names[l], inputs[l], options.rocket, layer_plan.rocket,
                                      {layer_plan.rocket.bits, options.dictionary.quant_group})
              : compress_low_rank(*slots[l], names[l], inputs[l], options, layer_plan.rank, layer_plan.ratio));
      progress.advance();
    }
  }
  progress.finish();
}

// rocket: every matrix at its allocated option (rate 0: left dense).
Plan rocket_plan(const std::vector<MatrixProfile>& profile, const RocketAllocation& allocation) {
  Plan plan;
  for (size_t i = 0; i < profile.size(); ++i) {
    const ProfileOption& o = allocation.choice[i];
    plan[profile[i].name] = LayerPlan{o.atoms, {o.atoms, o.nonzeros}, o.rate, o};
  }
  return plan;
}

}  // namespace

void check_compress_options(const Transformer& model, const CompressOptions& options) {
  check_option_fields(model, options);
  Method m = options.method;  // masa sizes itself, rocket and dynamic need data; uniform_plan throws at rank or s 0
  if (m != Method::kMasa && m != Method::kRocket && options.dictionary.alloc != Alloc::kDynamic) uniform_plan(model, options);
}

CompressResult compress_model(Transformer& model, const at::Tensor& calib_tokens, const CompressOptions& options,
                              const std::vector<BlockStats>* cached_stats, const std::vector<MatrixProfile>* rocket_profile,
                              const BlockDone& on_block_done) {
  check_compress_options(model, options);
  int64_t num_layers = model.config().num_layers;
  LMSHRINK_CHECK(!cached_stats || static_cast<int64_t>(cached_stats->size()) == num_layers,
                 "cached statistics cover ", cached_stats ? cached_stats->size() : 0, " blocks, the model has ", num_layers);
  LMSHRINK_CHECK(!cached_stats || options.mode == Mode::kOneShot, "cached statistics are one-shot; mode sequential recalibrates");
  CompressResult result;
  if (options.method == Method::kMasa) {  // all layers of a group at once, not block by block
    compress_masa(model, calib_tokens, options, cached_stats, result);
    release_mapped_pages();  // the groups' weights were read at once; the blocks are written one by one below
    for (int64_t layer = 0; on_block_done && layer < num_layers; ++layer) {
      on_block_done(layer);
      release_mapped_pages();
    }
    return result;
  }
  // Every plan is made before calibration (rocket's after its profile), so a budget the guards cannot meet fails here.
  Plan plan = options.method != Method::kRocket
                  ? make_plan(model, options)
                  : rocket_plan(result.profile, profile_and_allocate(model, calib_tokens, options, cached_stats,
                                                                     rocket_profile, result));
  std::optional<BlockStreamer> streamer;
  Clock::time_point setup = Clock::now();
  if (method_needs_calibration(options.method) && !cached_stats) streamer.emplace(model, calib_tokens, options.batch_size);
  result.calibration_seconds += seconds_since(setup);
  torch::NoGradGuard no_grad;
  int64_t window = method_is_dictionary(options.method) ? options.dictionary.groups : 1;
  std::deque<BlockStats> streamed;  // the statistics of the blocks waiting for their group
  std::vector<const BlockStats*> pending;
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    bool last = layer + 1 == num_layers;
    Clock::time_point start = Clock::now();
    const BlockStats* stats = nullptr;
    if (cached_stats) {
      stats = &(*cached_stats)[layer];
    } else if (streamer) {
      // one-shot: block l's outputs are computed before it is compressed, so later blocks see the original.
      streamed.push_back(options.mode == Mode::kOneShot && !last ? streamer->collect_and_advance(layer) : streamer->collect(layer));
      stats = &streamed.back();
    }
    result.calibration_seconds += seconds_since(start);
    if (stats) result.skipped_batches += skipped(*stats);
    pending.push_back(stats);
    if (static_cast<int64_t>(pending.size()) < window && !last) continue;
    start = Clock::now();
    int64_t first = layer + 1 - static_cast<int64_t>(pending.size());
    compress_window(model, first, pending, options, plan, result);
    result.decomposition_seconds += seconds_since(start);
    pending.clear();
    streamed.clear();
    if (streamer && options.mode == Mode::kSequential && !last) {
      start = Clock::now();
      streamer->advance(layer);  // with block l's compressed weights
      result.calibration_seconds += seconds_since(start);
    }
    for (int64_t done = first; on_block_done && done <= layer; ++done) on_block_done(done);
    release_mapped_pages();
  }
  return result;
}

}  // namespace lmshrink
