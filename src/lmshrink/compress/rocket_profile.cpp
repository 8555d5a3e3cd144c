// ROCKET layer profiling and the saved profile (see rocket_profile.h).
#include "lmshrink/compress/rocket_profile.h"

#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include "lmshrink/calib/streaming.h"
#include "lmshrink/compress/compot.h"
#include "lmshrink/compress/dict_group.h"
#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/model/projections.h"
#include "lmshrink/compress/rank.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink {

namespace {

std::vector<double> steps(double first, double last, double step) {
  std::vector<double> values;
  for (int64_t i = 0; first + static_cast<double>(i) * step <= last + 1e-9; ++i) {
    values.push_back(std::round((first + static_cast<double>(i) * step) * 1e6) / 1e6);
  }
  return values;
}

double parse_number(const std::string& item, const std::string& flag) {
  size_t used = 0;
  double value = 0.0;
  try {
    value = std::stod(item, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  LMSHRINK_CHECK(used == item.size() && !item.empty() && std::isfinite(value), flag, ": '", item, "' is not a number");
  return value;
}

}  // namespace

ProfileGrid default_profile_grid() { return {steps(0.05, 0.70, 0.05), steps(1.0, 3.0, 0.1)}; }

std::vector<double> parse_grid_list(const std::string& text, const std::string& flag) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ':');) parts.push_back(part);
  if (parts.size() == 3) {
    double first = parse_number(parts[0], flag), last = parse_number(parts[1], flag), step = parse_number(parts[2], flag);
    LMSHRINK_CHECK(step > 0 && last >= first, flag, ": 'first:last:step' needs step > 0 and last >= first, got '", text, "'");
    return steps(first, last, step);
  }
  LMSHRINK_CHECK(parts.size() == 1, flag, ": expected 'first:last:step' or a comma list, got '", text, "'");
  std::vector<double> values;
  std::stringstream items(text);
  for (std::string item; std::getline(items, item, ',');) values.push_back(parse_number(item, flag));
  return values;
}

void check_profile_grid(const ProfileGrid& grid) {
  LMSHRINK_CHECK(!grid.rates.empty() && !grid.ks.empty(), "rocket.grid.rates/rocket.grid.ks: the profile grid is empty");
  for (double rate : grid.rates) {
    LMSHRINK_CHECK(rate > 0.0 && rate < 1.0, "rocket.grid.rates: every rate must lie in (0, 1), got ", rate);
  }
  for (double ks : grid.ks) LMSHRINK_CHECK(ks >= 1.0, "rocket.grid.ks: every ks = r/s must be at least 1, got ", ks);
}

std::optional<RocketSize> rocket_size(int64_t d1, int64_t d2, double rate, double ks, const DictCost& cost) {
  int64_t max_rank = std::min(d1, d2);
  const bool low_rank = ks <= 1.0 + 1e-9;
  if (low_rank && cost.quantize_bits == 0) {
    int64_t r = static_cast<int64_t>(std::floor((1.0 - rate) * static_cast<double>(d1 * d2) / static_cast<double>(d1 + d2)));
    if (r < 1 || r > max_rank) return std::nullopt;
    return RocketSize{r, r, static_cast<double>(low_rank_params(d1, d2, r))};
  }
  DictSize size;
  try {
    size = dict_size_for_ratio(d1, d2, 1, rate, ks, cost, /*max_atoms=*/0, "rocket");
  } catch (const Error&) {
    return std::nullopt;  // the rate leaves s = 0 at this ks
  }
  // Quantized factors are stored as DictSparse, low rank (ks = 1) included: s = r nonzeros, index counted.
  if (size.atoms > max_rank || (size.nonzeros >= size.atoms && !low_rank)) return std::nullopt;
  return RocketSize{size.atoms, size.nonzeros, dict_words(d1, d2, 1, size, cost)};
}

namespace {

// ‖Ŵ − W‖_F / ‖W‖_F with Ŵ = (S⁻ᵀ D) V.
double weight_space_error(const DictProblem& problem, const RocketFit& fit, const at::Tensor& weight_n_m, double weight_norm) {
  at::Tensor dewhitened = at::linalg_solve_triangular(problem.lower.t(), fit.fit.dictionary, /*upper=*/true);  // [n, r]
  at::Tensor residual = torch::matmul(dewhitened, dense_code(fit.fit.code, fit.fit.dictionary.size(1))) - weight_n_m;
  return residual.norm().item<double>() / std::max(weight_norm, 1e-300);
}

// The error of the layer compression would store: with quantized factors, its dequantized weight Ŵ [n, m] against W
// (weight metric) or Sᵀ Ŵ against W_L (whitened metric).
double quantized_error(ProfileMetric metric, const DictProblem& problem, const RocketFit& fit, const Linear& layer,
                       const at::Tensor& weight_n_m, double weight_norm, const FactorQuantization& quantization) {
  auto stored = make_group_layers(problem, fit.fit, {&layer}, {"profile"}, quantization);
  at::Tensor approx_n_m = stored[0]->dense().t().to(torch::kFloat64);
  if (metric == ProfileMetric::kWeight) return (approx_n_m - weight_n_m).norm().item<double>() / std::max(weight_norm, 1e-300);
  at::Tensor residual = torch::matmul(problem.lower.t(), approx_n_m) - problem.whitened;
  return residual.norm().item<double>() / std::max(std::sqrt(problem.weight_energy), 1e-300);
}

// The profile's error of one fit (rocket_profile_format.h ProfileMetric), of its quantized factors when they are.
double profile_error(ProfileMetric metric, const DictProblem& problem, const RocketBasis& basis, const RocketFit& fit,
                     const at::Tensor& weight_n_m, double weight_norm, const Linear& layer, const DictCost& cost) {
  if (cost.quantize_bits != 0) {
    return quantized_error(metric, problem, fit, layer, weight_n_m, weight_norm, {cost.quantize_bits, cost.quant_group});
  }
  if (metric == ProfileMetric::kWeight) return weight_space_error(problem, fit, weight_n_m, weight_norm);
  return std::sqrt(fit.fit.objective[0] / std::max(basis.energy, 1e-300));
}

// COMPOT's candidate at a rate: k/s = 2, k ≤ in (compot.h), sized and scored as the layer compress would store.
std::optional<ProfileOption> compot_option(const DictProblem& problem, const Linear& layer, const at::Tensor& weight_n_m,
                                           double weight_norm, double rate, const DictCost& cost, ProfileMetric metric) {
  int64_t d1 = layer.in_features(), d2 = layer.out_features();
  DictSize size;
  try {
    size = dict_size_for_ratio(d1, d2, 1, rate, 2.0, cost, /*max_atoms=*/d1, "compot candidate");
  } catch (const Error&) {
    return std::nullopt;
  }
  RocketFit fit;
  fit.fit = fit_compot(problem.whitened, {size.atoms, size.nonzeros, 20, 1e-4});
  double error = quantized_error(metric, problem, fit, layer, weight_n_m, weight_norm, {cost.quantize_bits, cost.quant_group});
  ProfileOption option{rate, static_cast<double>(size.atoms) / static_cast<double>(size.nonzeros), size.atoms,
                       size.nonzeros, dict_words(d1, d2, 1, size, cost), error, cost.quantize_bits};
  option.compot = true;
  return option;
}

}  // namespace

std::vector<int> profile_bit_choices(int quantize_bits) {
  if (quantize_bits == -1) return {0, 8, 4};
  return {quantize_bits};
}

MatrixProfile profile_matrix(const std::string& name, const Linear& layer, const at::Tensor& gram_in_in,
                             const ProfileSettings& settings) {
  MatrixProfile profile{name, layer.in_features(), layer.out_features(), 0.0, {}};
  int64_t d1 = layer.in_features(), d2 = layer.out_features();
  profile.dense_words = static_cast<double>(d1 * d2);
  profile.options.push_back(ProfileOption{0.0, 0.0, 0, 0, profile.dense_words, 0.0});
  DictProblem problem = whiten_group({&layer}, {gram_in_in});
  at::Tensor weight = layer.dense().t().to(torch::kFloat64);
  RocketBasis basis = rocket_basis(problem.whitened, problem.lower, weight);
  double weight_norm = weight.norm().item<double>();
  // nll, kl: the ks per rate by the whitened error; the probe (nll_probe.h) then measures the chosen options.
  ProfileMetric metric = is_probed_metric(settings.metric) ? ProfileMetric::kWhitened : settings.metric;
  for (int bits : profile_bit_choices(settings.cost.quantize_bits)) {
    DictCost cost = settings.cost;
    cost.quantize_bits = bits;
    for (double rate : settings.grid.rates) {
      std::optional<ProfileOption> best;
      for (double ks : settings.grid.ks) {
        std::optional<RocketSize> size = rocket_size(d1, d2, rate, ks, cost);
        if (!size) continue;
        RocketOptions options{size->atoms, size->nonzeros, settings.importance_exponent, settings.oversparsify, 0, 1e-3};
        RocketFit fit = fit_rocket(problem.whitened, basis, options);
        double error = profile_error(metric, problem, basis, fit, weight, weight_norm, layer, cost);
        if (!best || error < best->error) {
          best = ProfileOption{rate, ks, size->atoms, size->nonzeros, size->kept_words, error, bits};
        }
      }
      if (settings.compot_candidates) {
        std::optional<ProfileOption> compot = compot_option(problem, layer, weight, weight_norm, rate, cost, metric);
        if (compot && best && is_probed_metric(settings.metric)) {
          profile.options.push_back(*compot);  // both fits: the probe's measured ΔNLL chooses, not the whitened error
        } else if (compot && (!best || compot->error < best->error)) {
          best = compot;
        }
      }
      if (best) profile.options.push_back(*best);
    }
  }
  return profile;
}

std::vector<MatrixProfile> profile_model(const Transformer& model, const at::Tensor& calib_tokens,
                                         const std::vector<std::string>& targets, const ProfileSettings& settings,
                                         int64_t batch_size, const std::vector<BlockStats>* cached_stats) {
  check_profile_grid(settings.grid);
  torch::NoGradGuard no_grad;
  int64_t num_layers = model.config().num_layers;
  std::optional<BlockStreamer> streamer;
  if (!cached_stats) streamer.emplace(model, calib_tokens, batch_size);
  std::vector<MatrixProfile> profile;
  Progress progress("rocket profile", num_layers * static_cast<int64_t>(targets.size()));
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    BlockStats streamed;
    if (!cached_stats) streamed = layer + 1 < num_layers ? streamer->collect_and_advance(layer) : streamer->collect(layer);
    const BlockStats& stats = cached_stats ? (*cached_stats)[layer] : streamed;
    for (const std::string& projection : targets) {
      const LayerStats& input = stats.of(projection_input(projection));
      std::string name = projection_layer_name(layer, projection);
      input.check_accumulated(name);
      profile.push_back(profile_matrix(name, projection_layer(model, layer, projection), input.gram, settings));
      progress.advance();
    }
    release_mapped_pages();  // the block's mapped weights and cached Grams leave memory (io/mapped_pages.h)
  }
  progress.finish();
  return profile;
}

nlohmann::json profile_to_json(const std::vector<MatrixProfile>& profile, const ProfileSettings& settings) {
  nlohmann::json matrices = nlohmann::json::array();
  for (const MatrixProfile& m : profile) {
    nlohmann::json options = nlohmann::json::array();
    for (const ProfileOption& o : m.options) {
      options.push_back({{"rate", o.rate}, {"ks", o.ks}, {"atoms", o.atoms}, {"nonzeros", o.nonzeros},
                         {"kept_words", o.kept_words}, {"error", o.error}, {"bits", o.bits},
                         {"fit", o.compot ? "compot" : "rocket"}});
      if (o.weight_error >= 0) {
        options.back()["weight_error"] = o.weight_error;
        options.back()["whitened_error"] = o.whitened_error;
        options.back()["measured_nll"] = o.measured_nll;
        options.back()["measured_kl"] = o.measured_kl;
      }
    }
    matrices.push_back({{"name", m.name}, {"in_features", m.in_features}, {"out_features", m.out_features},
                        {"dense_words", m.dense_words}, {"options", options}});
  }
  return {{"format", "lmshrink-rocket-profile"}, {"version", 1},
          {"accounting", accounting_name(settings.cost.accounting)}, {"metric", profile_metric_name(settings.metric)},
          {"quantize_bits", settings.cost.quantize_bits},
          {"importance_exponent", settings.importance_exponent}, {"oversparsify", settings.oversparsify},
          {"grid", {{"rates", settings.grid.rates}, {"ks", settings.grid.ks}}}, {"matrices", matrices}};
}

std::vector<MatrixProfile> profile_from_json(const nlohmann::json& json, const Transformer& model,
                                             const std::vector<std::string>& targets, const std::string& accounting,
                                             ProfileMetric metric, const std::string& what, int quantize_bits) {
  std::map<std::string, MatrixProfile> by_name = parse_profile_json(json, accounting, metric, what, quantize_bits);
  std::vector<MatrixProfile> profile;
  for (int64_t layer = 0; layer < model.config().num_layers; ++layer) {
    for (const std::string& projection : targets) {
      std::string name = projection_layer_name(layer, projection);
      auto found = by_name.find(name);
      LMSHRINK_CHECK(found != by_name.end(), what, ": no entry for ", name, " (profiled with other --targets or another model?)");
      const Linear& linear = projection_layer(model, layer, projection);
      LMSHRINK_CHECK(found->second.in_features == linear.in_features() && found->second.out_features == linear.out_features(),
                     what, ": ", name, " profiled as ", found->second.in_features, " x ", found->second.out_features,
                     ", the model has ", linear.in_features(), " x ", linear.out_features());
      profile.push_back(found->second);
    }
  }
  return profile;
}

}  // namespace lmshrink
