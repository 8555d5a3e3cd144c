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

// The size each targeted matrix gets, decided for the whole model before any work.
struct LayerPlan {
  int64_t rank = 0;   // low-rank methods
  DictSize dict;      // dict methods (shared by the layers of a group)
  double ratio = 0.0; // the matrix's removed fraction
  ProfileOption rocket;  // rocket: the allocated option (rate 0: left uncompressed)
};
using Plan = std::map<std::string, LayerPlan>;

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
  }
  const DictionaryOptions& d = options.dictionary;
  std::vector<double> ratios = pooled_spectrum_ratios(matrices, options.ratio, {d.alloc_min_ratio, d.alloc_max_ratio});
  std::vector<DictSize> sizes = sizes_within_budget(matrices, ratios, options.ratio, d.atoms_per_nonzero,
                                                    dict_cost(options), options.method == Method::kCompot);
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
  return options.dictionary.alloc == Alloc::kDynamic ? dynamic_plan(model, options) : uniform_plan(model, options);
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
  if (options.method == Method::kSvd) {
    compressed = compress_svd(layer, plan.rank);
  } else if (options.method == Method::kAsvd) {
    compressed = compress_asvd(layer, stats->channel_abs_mean(), plan.rank, options.low_rank.asvd_alpha);
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
  const RocketCompressOptions& r = options.rocket;
  RocketOptions rocket{choice.atoms, choice.nonzeros, r.importance_exponent, r.oversparsify, r.refine_steps, r.refine_lr};
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
  const DictionaryOptions& d = options.dictionary;
  if (options.method == Method::kCospadi) {  // iterations 0: the solver's own default (KsvdOptions, CompotOptions)
    KsvdOptions ksvd;
    ksvd.atoms = size.atoms, ksvd.nonzeros = size.nonzeros, ksvd.power_iterations = d.power_iterations;
    ksvd.omp_batch = d.omp_batch, ksvd.seed = d.seed;
    if (d.iterations > 0) ksvd.iterations = d.iterations;
    return fit_ksvd(problem.whitened, ksvd);
  }
  CompotOptions compot;
  compot.atoms = size.atoms, compot.nonzeros = size.nonzeros, compot.tolerance = d.tolerance;
  if (d.iterations > 0) compot.max_iterations = d.iterations;
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
  auto compressed = make_group_layers(problem, fit, layers, names, {options.dictionary.quantize_bits, options.dictionary.quant_group});
  std::vector<CompressedLayer> records;
  for (size_t l = 0; l < slots.size(); ++l) {
    CompressedLayer record = layer_record(names[l], *layers[l], *compressed[l], plan.ratio);
    record.atoms = plan.dict.atoms;
    record.nonzeros = plan.dict.nonzeros;
    record.dictionary_owner = compressed[l]->dictionary_owner();
    record.gram_shift = problem.gram_shift;
    record.whitened_error = whitened_error(*layers[l], *compressed[l], grams[l]);
    record.fit_iterations = options.method == Method::kCospadi ? static_cast<int64_t>(fit.objective.size()) / 2
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
  settings.grid = options.rocket.grid;
  if (options.rocket.alloc == Alloc::kUniform) settings.grid.rates = {options.ratio};  // uniform needs the target rate alone
  settings.cost = dict_cost(options);
  settings.importance_exponent = options.rocket.importance_exponent;
  settings.oversparsify = options.rocket.oversparsify;
  return settings;
}

LinearInput projection_input(const std::string& projection) {
  if (projection == "q_proj" || projection == "k_proj" || projection == "v_proj") return LinearInput::kQkv;
  if (projection == "o_proj") return LinearInput::kO;
  if (projection == "gate_proj" || projection == "up_proj") return LinearInput::kGateUp;
  return LinearInput::kDown;
}

std::string projection_layer_name(int64_t layer, const std::string& projection) {
  bool attention = projection_input(projection) == LinearInput::kQkv || projection == "o_proj";
  return str_cat("model.layers.", layer, attention ? ".self_attn." : ".mlp.", projection);
}

const Linear& projection_layer(const Transformer& model, int64_t layer, const std::string& projection) {
  return *projection_member(model.blocks().at(layer), projection);
}

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
      LMSHRINK_CHECK(std::find(all.begin(), all.end(), name) != all.end(), "targets: unknown projection '", item,
                     "' (use all, attn, mlp or a comma list of q,k,v,o,gate,up,down)");
      chosen.push_back(name);
    }
  }
  LMSHRINK_CHECK(!chosen.empty(), "targets: empty list");
  std::vector<std::string> ordered;  // block order, once each, whatever order the user wrote
  for (const std::string& name : all) {
    if (std::find(chosen.begin(), chosen.end(), name) != chosen.end()) ordered.push_back(name);
  }
  return ordered;
}

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
  LMSHRINK_CHECK(bytes > 0 && ratio > 0.0 && ratio < 1.0, "budget_bytes ", bytes, ": the targeted matrices take ",
                 dense_bytes, " bytes at 16 bits; the budget must lie strictly between 0 and that");
  return ratio;
}

namespace {

void check_rocket_options(const CompressOptions& options) {
  const RocketCompressOptions& r = options.rocket;
  LMSHRINK_CHECK(options.ratio > 0.0 && options.ratio < 1.0, "ratio: expected a fraction in (0, 1), got ", options.ratio);
  LMSHRINK_CHECK(r.alloc == Alloc::kMckp || r.alloc == Alloc::kUniform, "rocket.alloc: rocket takes mckp or uniform, got '",
                 alloc_name(r.alloc), "'");
  LMSHRINK_CHECK(options.dictionary.quantize_bits == 0,
                 "dictionary.quantize_bits: rocket factors are not quantized by this version");
  LMSHRINK_CHECK(options.mode == Mode::kOneShot, "mode: rocket profiles and compresses on one-shot statistics; use one-shot");
  LMSHRINK_CHECK(r.precision >= 1 && r.precision <= 10'000'000, "rocket.precision: expected 1 .. 10,000,000, got ",
                 r.precision);
  LMSHRINK_CHECK(r.refine_steps >= 0, "rocket.refine_steps must be >= 0, got ", r.refine_steps);
  LMSHRINK_CHECK(r.refine_lr > 0, "rocket.refine_lr must be > 0, got ", r.refine_lr);
  LMSHRINK_CHECK(r.importance_exponent >= 0, "rocket.importance_exponent must be >= 0, got ", r.importance_exponent);
  LMSHRINK_CHECK(r.oversparsify >= 0 && r.oversparsify < 1, "rocket.oversparsify must lie in [0, 1), got ", r.oversparsify);
  check_profile_grid(r.grid);
}

void check_dictionary_options(const Transformer& model, const CompressOptions& options) {
  const DictionaryOptions& d = options.dictionary;
  bool dict = method_is_dictionary(options.method);
  std::string method = method_name(options.method);
  LMSHRINK_CHECK(d.atoms_per_nonzero >= 1.0, "dictionary.atoms_per_nonzero: k/s must be at least 1, got ", d.atoms_per_nonzero);
  LMSHRINK_CHECK(d.iterations >= 0 && d.power_iterations >= 1 && d.omp_batch >= 1 && d.tolerance >= 0,
                 "dictionary.iterations, dictionary.power_iterations, dictionary.omp_batch and dictionary.tolerance must be "
                 "positive");
  LMSHRINK_CHECK(d.groups >= 1 && d.groups <= model.config().num_layers, "dictionary.groups ", d.groups,
                 ": must lie in [1, ", model.config().num_layers, "] (the model's layers)");
  LMSHRINK_CHECK(d.groups == 1 || dict, "dictionary.groups applies to cospadi and compot, not ", method);
  LMSHRINK_CHECK(d.groups == 1 || options.mode == Mode::kOneShot, "dictionary.groups needs mode one-shot (a group is fitted "
                 "on the statistics of all its layers)");
  if (options.method == Method::kRocket) return check_rocket_options(options);
  LMSHRINK_CHECK(d.alloc == Alloc::kUniform || d.alloc == Alloc::kDynamic, "dictionary.alloc: expected uniform or dynamic, "
                 "got '", alloc_name(d.alloc), "' (mckp is for method rocket)");
  LMSHRINK_CHECK(d.alloc == Alloc::kUniform || dict, "dictionary.alloc dynamic applies to cospadi and compot, not ", method);
  LMSHRINK_CHECK(d.alloc == Alloc::kUniform || d.groups == 1,
                 "dictionary.alloc dynamic allocates per matrix; use dictionary.groups 1");
  LMSHRINK_CHECK(d.quantize_bits == 0 || d.quantize_bits == 8 || d.quantize_bits == 4,
                 "dictionary.quantize_bits: expected 0, 8 or 4, got ", d.quantize_bits);
  LMSHRINK_CHECK(d.quantize_bits == 0 || dict, "dictionary.quantize_bits applies to the factors of cospadi and compot; ",
                 method, " layers are not quantized by this version");
  LMSHRINK_CHECK(d.quant_group >= 1, "dictionary.quant_group must be positive, got ", d.quant_group);
}

}  // namespace

void check_compress_options(const Transformer& model, const CompressOptions& options) {
  method_name(options.method);  // throws on a value outside the enum
  mode_name(options.mode);
  LMSHRINK_CHECK(!options.targets.empty(), "targets: no projection selected");
  LMSHRINK_CHECK(options.batch_size > 0, "batch_size: must be positive, got ", options.batch_size);
  LMSHRINK_CHECK(options.low_rank.asvd_alpha > 0.0, "low_rank.asvd_alpha must be positive, got ", options.low_rank.asvd_alpha);
  if (options.method == Method::kMasa) return check_masa_options(model, options);
  check_dictionary_options(model, options);
  if (options.method == Method::kRocket) return;  // sizes come from the profile
  const DictionaryOptions& d = options.dictionary;
  if (d.alloc == Alloc::kDynamic) {  // the plan itself needs every matrix's spectrum: compress_model makes it
    LMSHRINK_CHECK(options.ratio > 0.0 && options.ratio < 1.0, "ratio: expected a fraction in (0, 1), got ", options.ratio);
    LMSHRINK_CHECK(d.alloc_min_ratio >= 0.0 && d.alloc_min_ratio <= d.alloc_max_ratio && d.alloc_max_ratio < 1.0,
                   "dictionary.alloc_min_ratio/dictionary.alloc_max_ratio: need 0 <= min <= max < 1");
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
  std::string label = count == 1 ? str_cat(method_name(options.method), " block ", first)
                                 : str_cat(method_name(options.method), " blocks ", first, "-", first + count - 1);
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
      result.layers.push_back(options.method == Method::kRocket ? compress_rocket(*slots[l], names[l], inputs[l], options, layer_plan)
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
  LMSHRINK_CHECK(!cached_stats || options.mode == Mode::kOneShot, "cached statistics are one-shot; mode sequential recalibrates");
  CompressResult result;
  if (options.method == Method::kMasa) {  // all layers of a group at once, not block by block
    compress_masa(model, calib_tokens, options, cached_stats, result);
    return result;
  }
  Plan plan;
  if (options.method == Method::kRocket) {  // profile (unless given) and allocate before compressing anything
    Clock::time_point start = Clock::now();
    result.profile = rocket_profile ? *rocket_profile
                                    : profile_model(model, calib_tokens, options.targets, profile_settings(options),
                                                    options.batch_size, cached_stats);
    result.profile_seconds = seconds_since(start);
    RocketAllocation allocation = allocate_rocket(
        result.profile, options.ratio,
        {options.rocket.alloc, options.rocket.allow_uncompressed, options.rocket.error_cap, options.rocket.precision});
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
    compress_window(model, layer + 1 - static_cast<int64_t>(pending.size()), pending, options, plan, result);
    result.decomposition_seconds += seconds_since(start);
    pending.clear();
    streamed.clear();
    if (streamer && options.mode == Mode::kSequential && !last) {
      start = Clock::now();
      streamer->advance(layer);  // with block l's compressed weights
      result.calibration_seconds += seconds_since(start);
    }
  }
  return result;
}

}  // namespace lmshrink
