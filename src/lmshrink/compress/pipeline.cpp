// Width-compression driver: block-by-block statistics, per-matrix method dispatch (see pipeline.h).
#include "lmshrink/compress/pipeline.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <sstream>

#include "lmshrink/calib/streaming.h"
#include "lmshrink/compress/allocation.h"
#include "lmshrink/compress/asvd.h"
#include "lmshrink/compress/compot.h"
#include "lmshrink/compress/dict_group.h"
#include "lmshrink/compress/rank.h"
#include "lmshrink/compress/rocket.h"
#include "lmshrink/compress/rocket_alloc.h"
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

// The size each targeted matrix gets, decided for the whole model before any work.
struct LayerPlan {
  int64_t rank = 0;   // low-rank methods
  DictSize dict;      // dict methods (shared by the layers of a group)
  double ratio = 0.0; // the matrix's removed fraction
  ProfileOption rocket;  // rocket: the allocated option (rate 0: left uncompressed)
};
using Plan = std::map<std::string, LayerPlan>;

DictCost dict_cost(const CompressOptions& options) {
  return DictCost{parse_accounting(options.accounting), options.quantize_bits, options.quant_group};
}

// Half-open layer ranges of the dictionary groups: [0, N), [N, 2N), ...; the last may be shorter.
std::vector<std::pair<int64_t, int64_t>> group_windows(int64_t num_layers, int64_t groups) {
  std::vector<std::pair<int64_t, int64_t>> windows;
  for (int64_t first = 0; first < num_layers; first += groups) windows.push_back({first, std::min(num_layers, first + groups)});
  return windows;
}

Plan uniform_plan(const Transformer& model, const CompressOptions& options) {
  Plan plan;
  int64_t num_layers = model.config().num_layers;
  bool dict = method_is_dictionary(options.method);
  for (const std::string& projection : options.targets) {
    for (auto [first, last] : group_windows(num_layers, dict ? options.groups : 1)) {
      const Linear& layer = projection_layer(model, first, projection);
      int64_t d1 = layer.in_features(), d2 = layer.out_features();
      LayerPlan entry{0, {}, options.ratio, {}};
      std::string what = projection_layer_name(first, projection);
      if (dict) {
        entry.dict = dict_size_for_ratio(d1, d2, last - first, options.ratio, options.atoms_per_nonzero, dict_cost(options),
                                         options.method == "compot" ? d1 : 0, what);
      } else {
        entry.rank = low_rank_for_ratio(d1, d2, options.ratio, what);
      }
      for (int64_t l = first; l < last; ++l) plan[projection_layer_name(l, projection)] = entry;
    }
  }
  return plan;
}

// --alloc dynamic: pooled-spectrum rates (allocation.h) for every targeted matrix of the model.
Plan dynamic_plan(const Transformer& model, const CompressOptions& options) {
  std::vector<AllocMatrix> matrices;
  for (int64_t l = 0; l < model.config().num_layers; ++l) {
    for (const std::string& projection : options.targets) {
      matrices.push_back(alloc_matrix(projection_layer_name(l, projection), projection_layer(model, l, projection).dense()));
    }
  }
  std::vector<double> ratios =
      pooled_spectrum_ratios(matrices, options.ratio, {options.alloc_min_ratio, options.alloc_max_ratio});
  std::vector<DictSize> sizes = sizes_within_budget(matrices, ratios, options.ratio, options.atoms_per_nonzero,
                                                    dict_cost(options), options.method == "compot");
  Plan plan;
  for (size_t i = 0; i < matrices.size(); ++i) plan[matrices[i].name] = LayerPlan{0, sizes[i], ratios[i], {}};
  return plan;
}

Plan rocket_plan(const std::vector<MatrixProfile>& profile, const RocketAllocation& allocation) {
  Plan plan;
  for (size_t i = 0; i < profile.size(); ++i) {
    const ProfileOption& o = allocation.choice[i];
    plan[profile[i].name] = LayerPlan{o.atoms, {o.atoms, o.nonzeros}, o.rate, o};
  }
  return plan;
}

Plan make_plan(const Transformer& model, const CompressOptions& options) {
  return options.alloc == "dynamic" ? dynamic_plan(model, options) : uniform_plan(model, options);
}

// ‖X (W − Ŵ)‖² / ‖X W‖² = tr(Eᵀ G E) / tr(Wᵀ G W), E = W − Ŵ in [in, out], float64.
double whitened_error(const Linear& before, const Linear& after, const at::Tensor& gram_in_in) {
  at::Tensor g = gram_in_in.to(torch::kCPU, torch::kFloat64);
  at::Tensor w = before.dense().t().to(torch::kFloat64), e = w - after.dense().t().to(torch::kFloat64);
  return (torch::matmul(g, e) * e).sum().item<double>() / (torch::matmul(g, w) * w).sum().item<double>();
}

CompressedLayer layer_record(const std::string& name, const Linear& before, const Linear& after, double ratio) {
  CompressedLayer record;
  record.name = name;
  record.in_features = before.in_features();
  record.out_features = before.out_features();
  record.ratio = ratio;
  record.params_before = before.params().values;
  record.bytes_before = before.params().bytes;
  record.params_after = after.params().values;
  record.bytes_after = after.params().bytes;
  record.words_effective = accounted_words(after, Accounting::kEffective);
  record.words_full = accounted_words(after, Accounting::kFull);
  return record;
}

// One matrix through a low-rank method.
CompressedLayer compress_low_rank(std::unique_ptr<Linear>& slot, const std::string& name, const LayerStats* stats,
                                  const CompressOptions& options, const LayerPlan& plan) {
  const Linear& layer = *slot;
  std::unique_ptr<Linear> compressed;
  double gram_shift = 0.0, truncation_loss = -1.0;
  if (options.method == "svd") {
    compressed = compress_svd(layer, plan.rank);
  } else if (options.method == "asvd") {
    compressed = compress_asvd(layer, stats->channel_abs_mean(), plan.rank, options.asvd_alpha);
  } else {
    LMSHRINK_CHECK(stats->gram.defined(), name, ": no calibration statistics for its input");
    SvdLlmResult r = compress_svd_llm(layer, stats->gram.to(torch::kCPU), plan.rank);
    compressed = std::move(r.layer);
    gram_shift = r.gram_shift;
    truncation_loss = r.truncation_loss;
  }
  CompressedLayer record = layer_record(name, layer, *compressed, plan.ratio);
  record.rank = plan.rank;
  record.gram_shift = gram_shift;
  record.truncation_loss = truncation_loss;
  if (stats && stats->gram.defined()) record.whitened_error = whitened_error(layer, *compressed, stats->gram);
  slot = std::move(compressed);
  return record;
}

// One matrix through rocket at its allocated option: a DictSparse layer, or LowRank when s = r (ks = 1).
CompressedLayer compress_rocket(std::unique_ptr<Linear>& slot, const std::string& name, const LayerStats* stats,
                                const CompressOptions& options, const LayerPlan& plan) {
  const Linear& layer = *slot;
  const ProfileOption& choice = plan.rocket;
  CompressedLayer record = layer_record(name, layer, layer, 0.0);
  if (choice.rate == 0.0) {  // the knapsack left this matrix dense
    record.whitened_error = 0.0;
    record.profile_error = 0.0;
    return record;
  }
  LMSHRINK_CHECK(stats && stats->gram.defined(), name, ": no calibration statistics for its input");
  DictProblem problem = whiten_group({&layer}, {stats->gram});
  RocketOptions rocket{choice.atoms, choice.nonzeros, options.importance_exponent, options.oversparsify,
                       options.refine_steps, options.refine_lr};
  RocketFit fit = fit_rocket(problem.whitened, rocket_basis(problem.whitened, problem.lower), rocket);
  std::unique_ptr<Linear> compressed;
  if (choice.nonzeros == choice.atoms) {
    at::Tensor a = at::linalg_solve_triangular(problem.lower.t(), fit.fit.dictionary, /*upper=*/true);  // S⁻ᵀ D [in, r]
    compressed = std::make_unique<LowRankLinear>(a.to(torch::kFloat32), dense_code(fit.fit.code, choice.atoms).to(torch::kFloat32),
                                                 layer.bias());
  } else {
    compressed = std::move(make_group_layers(problem, fit.fit, {&layer}, {name}, {})[0]);
  }
  record = layer_record(name, layer, *compressed, choice.rate);
  if (choice.nonzeros == choice.atoms) record.rank = choice.atoms;
  else record.atoms = choice.atoms, record.nonzeros = choice.nonzeros;
  record.ks = choice.ks;
  record.profile_error = choice.error;
  record.rocket_stage = fit.chosen;
  record.gram_shift = problem.gram_shift;
  record.whitened_error = whitened_error(layer, *compressed, stats->gram);
  slot = std::move(compressed);
  return record;
}

DictFit fit_dictionary(const DictProblem& problem, DictSize size, const CompressOptions& options) {
  if (options.method == "cospadi") {  // iterations 0: the solver's own default (KsvdOptions, CompotOptions)
    KsvdOptions ksvd;
    ksvd.atoms = size.atoms, ksvd.nonzeros = size.nonzeros, ksvd.power_iterations = options.power_iterations;
    ksvd.omp_batch = options.omp_batch, ksvd.seed = options.seed;
    if (options.iterations > 0) ksvd.iterations = options.iterations;
    return fit_ksvd(problem.whitened, ksvd);
  }
  CompotOptions compot;
  compot.atoms = size.atoms, compot.nonzeros = size.nonzeros, compot.tolerance = options.tolerance;
  if (options.iterations > 0) compot.max_iterations = options.iterations;
  return fit_compot(problem.whitened, compot);
}

// One projection of a dictionary group (one layer unless --groups > 1) through cospadi or compot.
std::vector<CompressedLayer> compress_dict_group(std::vector<std::unique_ptr<Linear>*> slots, const std::vector<std::string>& names,
                                                 const std::vector<const LayerStats*>& stats, const CompressOptions& options,
                                                 const LayerPlan& plan) {
  std::vector<const Linear*> layers;
  std::vector<at::Tensor> grams;
  for (size_t l = 0; l < slots.size(); ++l) {
    LMSHRINK_CHECK(stats[l] && stats[l]->gram.defined(), names[l], ": no calibration statistics for its input");
    layers.push_back(slots[l]->get());
    grams.push_back(stats[l]->gram);
  }
  DictProblem problem = whiten_group(layers, grams);
  DictFit fit = fit_dictionary(problem, plan.dict, options);
  auto compressed = make_group_layers(problem, fit, layers, names, {options.quantize_bits, options.quant_group});
  std::vector<CompressedLayer> records;
  for (size_t l = 0; l < slots.size(); ++l) {
    CompressedLayer record = layer_record(names[l], *layers[l], *compressed[l], plan.ratio);
    record.atoms = plan.dict.atoms;
    record.nonzeros = plan.dict.nonzeros;
    record.dictionary_owner = compressed[l]->dictionary_owner();
    record.gram_shift = problem.gram_shift;
    record.whitened_error = whitened_error(*layers[l], *compressed[l], grams[l]);
    record.fit_iterations = options.method == "cospadi" ? static_cast<int64_t>(fit.objective.size()) / 2
                                                        : (static_cast<int64_t>(fit.objective.size()) - 1) / 2;
    records.push_back(record);
  }
  for (size_t l = 0; l < slots.size(); ++l) *slots[l] = std::move(compressed[l]);
  return records;
}

int64_t skipped(const BlockStats& stats) {
  return stats.qkv.skipped_batches + stats.o.skipped_batches + stats.gate_up.skipped_batches +
         stats.down.skipped_batches;
}

}  // namespace

ProfileSettings profile_settings(const CompressOptions& options) {
  ProfileSettings settings;
  settings.grid = options.grid;
  if (options.alloc == "uniform") settings.grid.rates = {options.ratio};  // uniform needs the target rate alone
  settings.cost = dict_cost(options);
  settings.importance_exponent = options.importance_exponent;
  settings.oversparsify = options.oversparsify;
  return settings;
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

bool method_is_dictionary(const std::string& method) { return method == "cospadi" || method == "compot"; }

double accounted_words(const Linear& layer, Accounting accounting) {
  const auto* dict = dynamic_cast<const DictSparseLinear*>(&layer);
  if (!dict) return static_cast<double>(layer.params().values);
  auto factor_words = [](const Factor& f) {
    return f.quantized ? static_cast<double>(f.quantized->storage_bytes()) / 2.0 : static_cast<double>(f.value.numel());
  };
  double words = factor_words(dict->values()) + (dict->bias().defined() ? static_cast<double>(dict->bias().numel()) : 0.0);
  if (dict->owns_dictionary()) words += factor_words(dict->dictionary());
  if (accounting == Accounting::kFull) words += static_cast<double>(dict->index_bytes()) / 2.0;
  return words;
}

double ratio_for_budget_bytes(const Transformer& model, const std::vector<std::string>& targets, double bytes) {
  double dense_bytes = 0.0;
  for (int64_t l = 0; l < model.config().num_layers; ++l) {
    for (const std::string& projection : targets) {
      const Linear& layer = projection_layer(model, l, projection);
      dense_bytes += 2.0 * static_cast<double>(layer.in_features() * layer.out_features());
    }
  }
  double ratio = 1.0 - bytes / dense_bytes;
  LMSHRINK_CHECK(bytes > 0 && ratio > 0.0 && ratio < 1.0, "--budget-bytes ", bytes, ": the targeted matrices take ",
                 dense_bytes, " bytes at 16 bits; the budget must lie strictly between 0 and that");
  return ratio;
}

namespace {

void check_rocket_options(const Transformer& model, const CompressOptions& options) {
  LMSHRINK_CHECK(options.ratio > 0.0 && options.ratio < 1.0, "--ratio: expected a fraction in (0, 1), got ", options.ratio);
  LMSHRINK_CHECK(options.alloc == "mckp" || options.alloc == "uniform", "--alloc: rocket takes mckp or uniform, got '",
                 options.alloc, "'");
  LMSHRINK_CHECK(options.groups == 1, "--groups applies to cospadi and compot, not rocket");
  LMSHRINK_CHECK(options.quantize_bits == 0, "--quantize: rocket factors are not quantized by this version");
  LMSHRINK_CHECK(options.mode == "one-shot", "rocket profiles and compresses on one-shot statistics; use --mode one-shot");
  LMSHRINK_CHECK(options.precision >= 1 && options.precision <= 10'000'000, "--precision: expected 1 .. 10,000,000, got ",
                 options.precision);
  LMSHRINK_CHECK(options.refine_steps >= 0 && options.refine_lr > 0, "--refine-steps must be >= 0 and --refine-lr > 0");
  LMSHRINK_CHECK(options.importance_exponent >= 0 && options.oversparsify >= 0 && options.oversparsify < 1,
                 "--importance-exponent must be >= 0 and --oversparsify in [0, 1)");
  check_profile_grid(options.grid);
}

void check_dictionary_options(const Transformer& model, const CompressOptions& options) {
  bool dict = method_is_dictionary(options.method);
  parse_accounting(options.accounting);
  LMSHRINK_CHECK(options.atoms_per_nonzero >= 1.0, "--atoms-per-nonzero: k/s must be at least 1, got ", options.atoms_per_nonzero);
  LMSHRINK_CHECK(options.iterations >= 0 && options.power_iterations >= 1 && options.omp_batch >= 1 && options.tolerance >= 0,
                 "--iterations, --power-iterations, --omp-batch and --tolerance must be positive");
  LMSHRINK_CHECK(options.groups >= 1 && options.groups <= model.config().num_layers, "--groups ", options.groups,
                 ": must lie in [1, ", model.config().num_layers, "] (the model's layers)");
  LMSHRINK_CHECK(options.groups == 1 || dict, "--groups applies to cospadi and compot, not ", options.method);
  LMSHRINK_CHECK(options.groups == 1 || options.mode == "one-shot", "--groups needs --mode one-shot (a group is fitted "
                 "on the statistics of all its layers)");
  if (options.method == "rocket") return check_rocket_options(model, options);
  LMSHRINK_CHECK(options.alloc == "uniform" || options.alloc == "dynamic", "--alloc: expected uniform or dynamic, got '",
                 options.alloc, "' (mckp is for --method rocket)");
  LMSHRINK_CHECK(options.alloc == "uniform" || dict, "--alloc dynamic applies to cospadi and compot, not ", options.method);
  LMSHRINK_CHECK(options.alloc == "uniform" || options.groups == 1, "--alloc dynamic allocates per matrix; use --groups 1");
  LMSHRINK_CHECK(options.quantize_bits == 0 || options.quantize_bits == 8 || options.quantize_bits == 4,
                 "--quantize: expected int8 or int4");
  LMSHRINK_CHECK(options.quantize_bits == 0 || dict, "--quantize applies to the factors of cospadi and compot; ",
                 options.method, " layers are not quantized by this version");
  LMSHRINK_CHECK(options.quant_group >= 1, "--quant-group must be positive, got ", options.quant_group);
}

}  // namespace

void check_compress_options(const Transformer& model, const CompressOptions& options) {
  LMSHRINK_CHECK(options.method == "svd" || options.method == "asvd" || options.method == "svd-llm" ||
                     method_is_dictionary(options.method) || options.method == "rocket" || options.method == "masa",
                 "--method: unknown method '", options.method, "' (supported: svd, asvd, svd-llm, cospadi, compot, rocket, masa)");
  LMSHRINK_CHECK(options.mode == "one-shot" || options.mode == "sequential", "--mode: unknown mode '", options.mode,
                 "' (one-shot or sequential)");
  LMSHRINK_CHECK(!options.targets.empty(), "--targets: no projection selected");
  LMSHRINK_CHECK(options.batch_size > 0, "calibration batch size must be positive");
  LMSHRINK_CHECK(options.asvd_alpha > 0.0, "--asvd-alpha must be positive, got ", options.asvd_alpha);
  if (options.method == "masa") return check_masa_options(model, options);
  check_dictionary_options(model, options);
  if (options.method == "rocket") return;  // sizes come from the profile
  if (options.alloc == "dynamic") {  // the plan itself needs every matrix's spectrum: compress_model makes it
    LMSHRINK_CHECK(options.ratio > 0.0 && options.ratio < 1.0, "--ratio: expected a fraction in (0, 1), got ", options.ratio);
    LMSHRINK_CHECK(options.alloc_min_ratio >= 0.0 && options.alloc_min_ratio <= options.alloc_max_ratio &&
                       options.alloc_max_ratio < 1.0,
                   "--alloc-min-ratio/--alloc-max-ratio: need 0 <= min <= max < 1");
    return;
  }
  uniform_plan(model, options);  // throws for a ratio that leaves rank 0 or s = 0
}

namespace {

// Compresses blocks [first, first + stats.size()) once all their statistics are in: a dictionary group per
// projection for the dict methods, one matrix at a time otherwise.
void compress_window(Transformer& model, int64_t first, const std::vector<const BlockStats*>& stats,
                     const CompressOptions& options, const Plan& plan, CompressResult& result) {
  int64_t count = static_cast<int64_t>(stats.size());
  std::string label = count == 1 ? str_cat(options.method, " block ", first)
                                 : str_cat(options.method, " blocks ", first, "-", first + count - 1);
  Progress progress(label, static_cast<int64_t>(options.targets.size()) * count, progress_quiet());
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
      for (CompressedLayer& r : compress_dict_group(slots, names, inputs, options, plan.at(names[0]))) {
        result.layers.push_back(std::move(r));
      }
      progress.advance(count);
      continue;
    }
    for (int64_t l = 0; l < count; ++l) {
      const LayerPlan& layer_plan = plan.at(names[l]);
      result.layers.push_back(options.method == "rocket" ? compress_rocket(*slots[l], names[l], inputs[l], options, layer_plan)
                                                         : compress_low_rank(*slots[l], names[l], inputs[l], options, layer_plan));
      progress.advance();
    }
  }
  progress.finish();
}

}  // namespace

CompressResult compress_model(Transformer& model, const at::Tensor& calib_tokens, const CompressOptions& options,
                              const std::vector<BlockStats>* cached_stats, const std::vector<MatrixProfile>* rocket_profile) {
  check_compress_options(model, options);
  int64_t num_layers = model.config().num_layers;
  bool calibrate = method_needs_calibration(options.method);
  LMSHRINK_CHECK(!cached_stats || static_cast<int64_t>(cached_stats->size()) == num_layers,
                 "cached statistics cover ", cached_stats ? cached_stats->size() : 0, " blocks, the model has ", num_layers);
  LMSHRINK_CHECK(!cached_stats || options.mode == "one-shot", "cached statistics are one-shot; --mode sequential recalibrates");
  CompressResult result;
  if (options.method == "masa") {  // all layers of a group at once, not block by block
    compress_masa(model, calib_tokens, options, cached_stats, result);
    return result;
  }
  Plan plan;
  if (options.method == "rocket") {  // profile (unless given) and allocate before compressing anything
    Clock::time_point start = Clock::now();
    result.profile = rocket_profile ? *rocket_profile
                                    : profile_model(model, calib_tokens, options.targets, profile_settings(options),
                                                    options.batch_size, cached_stats);
    result.profile_seconds = seconds_since(start);
    RocketAllocation allocation = allocate_rocket(
        result.profile, options.ratio, {options.alloc, options.allow_uncompressed, options.error_cap, options.precision});
    result.alpha_min = allocation.alpha_min;
    result.allocated_ratio = allocation.removed_ratio();
    plan = rocket_plan(result.profile, allocation);
  } else {
    plan = make_plan(model, options);  // before calibration: a budget the guards cannot meet fails here
  }
  std::optional<BlockStreamer> streamer;
  if (calibrate && !cached_stats) {
    Clock::time_point start = Clock::now();
    streamer.emplace(model, calib_tokens, options.batch_size);
    result.calibration_seconds += seconds_since(start);
  }
  torch::NoGradGuard no_grad;
  int64_t window = method_is_dictionary(options.method) ? options.groups : 1;
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
      streamed.push_back(options.mode == "one-shot" && !last ? streamer->collect_and_advance(layer) : streamer->collect(layer));
      stats = &streamed.back();
    }
    result.calibration_seconds += seconds_since(start);
    if (stats) result.skipped_batches += skipped(*stats);
    pending.push_back(stats);
    if (static_cast<int64_t>(pending.size()) < window && !last) continue;
    start = Clock::now();
    compress_window(model, layer + 1 - static_cast<int64_t>(pending.size()), pending, options, plan, result);
    result.decomposition_seconds += seconds_since(start);
    pending.clear();
    streamed.clear();
    if (streamer && options.mode == "sequential" && !last) {
      start = Clock::now();
      streamer->advance(layer);  // with block l's compressed weights
      result.calibration_seconds += seconds_since(start);
    }
  }
  return result;
}

}  // namespace lmshrink
