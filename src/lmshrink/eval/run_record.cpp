// The run records of compress and prune (see run_record.h).
#include "lmshrink/eval/run_record.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

std::string format_text(const char* pattern, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, pattern);
  std::vsnprintf(buffer, sizeof(buffer), pattern, args);
  va_end(args);
  return buffer;
}

nlohmann::json layer_records(const CompressResult& result) {
  nlohmann::json layers = nlohmann::json::array();
  for (const CompressedLayer& l : result.layers) {
    nlohmann::json entry = {{"name", l.name}, {"in_features", l.in_features}, {"out_features", l.out_features},
                            {"ratio", l.ratio}, {"params_before", l.params_before}, {"params_after", l.params_after},
                            {"words_effective", l.words_effective}, {"words_full", l.words_full}};
    if (l.rank > 0) entry["rank"] = l.rank;
    if (l.atoms > 0) {
      entry["atoms"] = l.atoms;
      entry["nonzeros"] = l.nonzeros;
      entry["fit_iterations"] = l.fit_iterations;
      if (!l.dictionary_owner.empty()) entry["dictionary_owner"] = l.dictionary_owner;
    }
    if (l.whitened_error >= 0) entry["whitened_relative_error"] = l.whitened_error;
    if (l.truncation_loss >= 0) entry["whitened_truncation_loss"] = l.truncation_loss;
    if (l.gram_shift > 0) entry["gram_shift"] = l.gram_shift;
    if (l.profile_error >= 0) {
      entry["ks"] = l.ks;
      entry["bits"] = l.bits;
      entry["profile_error"] = l.profile_error;
      if (!l.rocket_stage.empty()) entry["rocket_stage"] = l.rocket_stage;
    }
    layers.push_back(entry);
  }
  return layers;
}

nlohmann::json size_record(int64_t params_before, int64_t params_after, int64_t bytes_before, int64_t bytes_after) {
  return {{"params_before", params_before}, {"params_after", params_after}, {"bytes_before", bytes_before},
          {"bytes_after", bytes_after}, {"ratio", 1.0 - static_cast<double>(params_after) / params_before}};
}

struct LinearTotals {
  int64_t params_before = 0, params_after = 0, bytes_before = 0, bytes_after = 0;
  double words_effective = 0.0, words_full = 0.0;
};

LinearTotals linear_totals(const CompressResult& result) {
  LinearTotals t;
  for (const CompressedLayer& l : result.layers) {
    t.params_before += l.params_before;
    t.params_after += l.params_after;
    t.bytes_before += l.bytes_before;
    t.bytes_after += l.bytes_after;
    t.words_effective += l.words_effective;
    t.words_full += l.words_full;
  }
  return t;
}

// Both accountings of ALGORITHMS.md §2 in 16-bit words: effective (eq. 11, no index) and full (eq. 10).
nlohmann::json accounting_record(const LinearTotals& t, const std::string& selected) {
  double before = static_cast<double>(t.params_before);
  return {{"selected", selected}, {"words_before", before}, {"words_effective", t.words_effective},
          {"words_full", t.words_full}, {"ratio_effective", 1.0 - t.words_effective / before},
          {"ratio_full", 1.0 - t.words_full / before}};
}

nlohmann::json dictionary_settings(const CompressOptions& options) {
  const DictionaryOptions& o = options.dictionary;
  return {{"atoms_per_nonzero", o.atoms_per_nonzero}, {"accounting", accounting_name(o.accounting)},
          {"iterations", o.iterations}, {"power_iterations", o.power_iterations}, {"omp_batch", o.omp_batch},
          {"seed", o.seed}, {"groups", o.groups}, {"tolerance", o.tolerance}, {"alloc", alloc_name(o.alloc)},
          {"alloc_min_ratio", o.alloc_min_ratio}, {"alloc_max_ratio", o.alloc_max_ratio},
          {"quantize_bits", o.quantize_bits}, {"quant_group", o.quant_group}};
}

nlohmann::json rocket_settings(const CompressOptions& options, const CompressResult& result, const std::string& profile) {
  const RocketCompressOptions& o = options.rocket;
  return {{"alloc", alloc_name(o.alloc)}, {"accounting", accounting_name(options.dictionary.accounting)},
          {"allow_uncompressed", o.allow_uncompressed},
          {"error_cap", o.error_cap}, {"alpha_min", result.alpha_min}, {"precision", o.precision},
          {"allocated_ratio", result.allocated_ratio}, {"profile_metric", profile_metric_name(o.profile_metric)},
          {"importance_exponent", o.importance_exponent},
          {"oversparsify", o.oversparsify}, {"refine_steps", o.refine_steps}, {"refine_lr", o.refine_lr},
          {"grid", {{"rates", o.grid.rates}, {"ks", o.grid.ks}}},
          {"profile", profile.empty() ? "computed (saved as rocket_profile.json)" : profile}};
}

// MASA's settings and groups; its ratio refers to the targeted attention projections, not the whole model.
nlohmann::json masa_settings(const CompressOptions& o, const CompressResult& result) {
  nlohmann::json groups = nlohmann::json::array();
  for (const MasaGroupRecord& g : result.masa_groups) {
    groups.push_back({{"projection", g.projection}, {"layers", {g.first, g.last}}, {"atoms", g.atoms},
                      {"residual_rank", g.residual_rank}, {"energy", g.energy}, {"pca_discarded", g.discarded},
                      {"pca_relative_error", g.energy > 0 ? g.discarded / g.energy : 0.0}});
  }
  return {{"ratio_refers_to", "the targeted attention projections (q, k, v, o) of all layers; see whole_model for the "
                              "whole model"},
          {"atoms_flag", o.masa.atoms}, {"groups_spec", masa_spec_name(o.masa.groups)},
          {"residual_rank_spec", masa_spec_name(o.masa.residual_rank)}, {"mix", atom_mix_name(o.masa.mix)}, {"groups", groups}, {"logit_lens_drift", result.masa_drift}};
}

nlohmann::json table_json(const PruneResult& result, int64_t blocks) {
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < result.table.size(); ++i) {
    int64_t index = static_cast<int64_t>(i);
    if (result.table_kind == "block_influence") {
      rows.push_back({{"layer", index}, {"block_influence", result.table[i]}});
    } else {
      rows.push_back({{"window", index}, {"removes", describe(BlockRange{index + 1, index + blocks})},
                      {"angular_distance", result.table[i]}});
    }
  }
  return rows;
}

nlohmann::json fits_json(const PruneResult& result) {
  nlohmann::json fits = nlohmann::json::array();
  for (const RangeFit& f : result.fits) {
    fits.push_back({{"blocks", describe(f.range)}, {"first", f.range.first}, {"last", f.range.last},
                    {"merged_into", str_cat("model.layers.", f.merged_into, ".mlp.down_proj")},
                    {"merged_into_layer", f.merged_into}, {"tokens", f.tokens},
                    {"relative_error", f.relative_error}, {"relative_error_identity", f.relative_error_identity},
                    {"cosine_distance", f.cosine_fitted}, {"cosine_distance_identity", f.cosine_identity},
                    {"epoch_loss", f.epoch_loss}});
  }
  return fits;
}

nlohmann::json size_json(const ModelSummary& before, const ModelSummary& after) {
  return size_record(before.total_params, after.total_params, before.total_bytes, after.total_bytes);
}

}  // namespace

std::string now_iso8601() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

std::string removed_blocks_text(const PruneResult& result) {
  std::string text;
  for (const BlockRange& r : result.ranges) text += (text.empty() ? "" : ",") + describe(r);
  return text;
}

nlohmann::json calibration_record(const CalibSpec& spec) {
  return {{"protocol", describe(spec)}, {"corpus", spec.corpus}, {"sampling", spec.sampling},
          {"n_samples", spec.n_samples}, {"seq_len", spec.seq_len}, {"seed", spec.seed}};
}

nlohmann::json compression_info(const CompressOptions& options, const CompressResult& result, const RunContext& run,
                                const std::string& profile) {
  nlohmann::json info = {{"method", method_name(options.method)}, {"ratio", options.ratio}, {"mode", mode_name(options.mode)},
                         {"targets", options.targets}, {"calibration", run.calibration}, {"source", run.model}};
  if (method_is_dictionary(options.method)) info["dictionary"] = dictionary_settings(options);
  if (options.method == Method::kRocket) info["rocket"] = rocket_settings(options, result, profile);
  if (options.method == Method::kMasa) info["masa"] = masa_settings(options, result);
  return info;
}

nlohmann::json compress_record(const CompressOptions& options, const CompressResult& result, const RunContext& run,
                               const std::string& profile) {
  LinearTotals t = linear_totals(result);
  nlohmann::json calibration = run.calibration;
  if (!calibration.is_null()) {
    calibration["tokens"] = run.calibration_tokens;
    calibration["skipped_batches"] = result.skipped_batches;
    calibration["stats_cache"] = run.stats_cache;
  }
  nlohmann::json info = compression_info(options, result, run, profile);
  return {{"record_version", kRunRecordVersion}, {"command", "compress"}, {"date", now_iso8601()}, {"model", run.model},
          {"output", run.output}, {"method", info["method"]}, {"mode", info["mode"]}, {"targets", options.targets},
          {"ratio_requested", options.ratio},
          {"compressed_linears", size_record(t.params_before, t.params_after, t.bytes_before, t.bytes_after)},
          {"accounting", accounting_record(t, accounting_name(options.dictionary.accounting))},
          {"dictionary", info.value("dictionary", nlohmann::json())}, {"rocket", info.value("rocket", nlohmann::json())},
          {"masa", info.value("masa", nlohmann::json())},
          {"whole_model", size_json(run.before, run.after)},
          {"calibration", calibration}, {"layers", layer_records(result)}, {"dtype", run.dtype},
          {"files", {{"input_bytes", run.input_file_bytes}, {"output_bytes", run.output_file_bytes}}},
          {"memory", {{"peak_rss_bytes", run.peak_rss_bytes}, {"weights", "memory-mapped in the file dtype, one block "
                       "materialised at a time"}, {"hidden_states", "float32 in memory, [n_samples, seq_len, hidden]"}}},
          {"synthetic_model", run.synthetic_model},
          {"seconds", {{"load", run.load_seconds}, {"sample", run.sample_seconds},
                       {"calibration", result.calibration_seconds + run.cache_seconds}, {"profile", result.profile_seconds},
                       {"decomposition", result.decomposition_seconds}, {"save", run.save_seconds},
                       {"total", run.total_seconds}, {"threads", torch::get_num_threads()}}}};
}

std::string compress_summary(const nlohmann::json& record) {
  std::string text;
  const auto& linears = record["compressed_linears"];
  const auto& whole = record["whole_model"];
  text += format_text("%s %s: %zu linears, params %lld -> %lld (ratio %.4f requested, %.4f achieved); whole model %lld -> %lld "
              "params (%.4f), %lld -> %lld bytes (%s)\n",
              record["method"].get<std::string>().c_str(), record["mode"].get<std::string>().c_str(),
              record["layers"].size(), linears["params_before"].get<long long>(), linears["params_after"].get<long long>(),
              record["ratio_requested"].get<double>(), linears["ratio"].get<double>(),
              whole["params_before"].get<long long>(), whole["params_after"].get<long long>(), whole["ratio"].get<double>(),
              whole["bytes_before"].get<long long>(), whole["bytes_after"].get<long long>(),
              record["dtype"].get<std::string>().c_str());
  if (record["files"]["output_bytes"].get<long long>() > 0) {
    text += format_text("files: %lld -> %lld bytes on disk; peak memory %.0f MB\n", record["files"]["input_bytes"].get<long long>(),
                        record["files"]["output_bytes"].get<long long>(),
                        static_cast<double>(record["memory"]["peak_rss_bytes"].get<long long>()) / 1e6);
  }
  const auto& words = record["accounting"];
  text += format_text("accounting (16-bit words, %s selected): effective %.0f (ratio %.4f), full with index %.0f (ratio %.4f)\n",
              words["selected"].get<std::string>().c_str(), words["words_effective"].get<double>(),
              words["ratio_effective"].get<double>(), words["words_full"].get<double>(), words["ratio_full"].get<double>());
  if (!record["calibration"].is_null()) {
    text += format_text("calibration: %s, stats cache %s\n", record["calibration"]["protocol"].get<std::string>().c_str(),
                record["calibration"]["stats_cache"].get<std::string>().c_str());
  }
  if (!record["masa"].is_null()) {
    text += format_text("masa: the ratio refers to the %zu attention projections compressed (%lld -> %lld params); the whole model "
                "keeps %.4f of its parameters\n", record["layers"].size(), linears["params_before"].get<long long>(),
                linears["params_after"].get<long long>(),
                1.0 - whole["ratio"].get<double>());
  }
  if (!record["rocket"].is_null()) {
    const auto& rocket = record["rocket"];
    text += format_text("rocket %s: allocated ratio %.4f, alpha_min %.2f (-1: uncapped), profile %.2f s (%s)\n",
                rocket["alloc"].get<std::string>().c_str(), rocket["allocated_ratio"].get<double>(),
                rocket["alpha_min"].get<double>(), record["seconds"]["profile"].get<double>(),
                rocket["profile"].get<std::string>().c_str());
  }
  const auto& seconds = record["seconds"];
  text += format_text("seconds: calibration %.2f, decomposition %.2f, save %.2f, total %.2f; wrote %s\n",
              seconds["calibration"].get<double>(), seconds["decomposition"].get<double>(), seconds["save"].get<double>(),
              seconds["total"].get<double>(), record["output"].get<std::string>().c_str());
  return text;
}

nlohmann::json prune_record(const PruneOptions& options, const PruneResult& result, const RunContext& run,
                            int64_t layers_before) {
  bool replaceme = options.method == "replaceme";
  nlohmann::json calibration = run.calibration;
  calibration["tokens"] = run.calibration_tokens;
  nlohmann::json transform = {{"ridge", options.ridge}, {"epochs", options.cosine.epochs}, {"lr", options.cosine.lr},
                              {"batch_tokens", options.cosine.batch_tokens}, {"l1", options.cosine.l1},
                              {"l2", options.cosine.l2},
                              {"multi_range", "sequential: each range fitted on the model with the earlier ranges "
                                              "removed and merged"},
                              {"last_layer_target", "pre-final-norm output of the last layer"}};
  return {{"record_version", kRunRecordVersion}, {"command", "prune"}, {"date", now_iso8601()}, {"model", run.model},
          {"output", run.output}, {"method", options.method},
          {"objective", replaceme ? nlohmann::json(options.objective) : nlohmann::json()}, {"blocks", options.blocks},
          {"num_ranges", options.num_ranges}, {"merge_consecutive", options.merge_consecutive},
          {"selection", {{"statistic", result.table_kind}, {"tokens", result.distance_tokens},
                         {"table", table_json(result, options.blocks)}}},
          {"removed", removed_blocks_text(result)}, {"removed_layers", result.removed_layers},
          {"layers_before", layers_before}, {"layers_after", result.model->config().num_layers},
          {"fits", fits_json(result)}, {"transform", replaceme ? transform : nlohmann::json()},
          {"whole_model", size_json(run.before, run.after)}, {"calibration", calibration}, {"dtype", "float32"},
          {"synthetic_model", run.synthetic_model},
          {"seconds", {{"load", run.load_seconds}, {"sample", run.sample_seconds}, {"selection", result.selection_seconds},
                       {"fit", result.fit_seconds}, {"save", run.save_seconds}, {"total", run.total_seconds},
                       {"threads", torch::get_num_threads()}}}};
}

std::string selection_table_text(const PruneResult& result, int64_t blocks) {
  std::string text;
  auto removed = [&](int64_t layer) {
    return std::find(result.removed_layers.begin(), result.removed_layers.end(), layer) != result.removed_layers.end();
  };
  if (result.table_kind == "block_influence") {
    text += format_text("block influence BI_i = 1 - mean cos(x_i, x_i+1) (%s tokens):\n  layer  BI\n",
                result.distance_tokens.c_str());
    for (size_t i = 0; i < result.table.size(); ++i) {
      text += format_text("  %-5zu  %.6f%s\n", i, result.table[i], removed(static_cast<int64_t>(i)) ? "  removed" : "");
    }
  } else if (result.table_kind == "angular_distance") {
    text += format_text("angular distance d_l = arccos(cos(h_l, h_l+%lld))/pi (%s token):\n  window  removes  distance\n",
                static_cast<long long>(blocks), result.distance_tokens.c_str());
    for (size_t i = 0; i < result.table.size(); ++i) {
      BlockRange window{static_cast<int64_t>(i) + 1, static_cast<int64_t>(i) + blocks};
      bool chosen = false;
      for (const BlockRange& r : result.ranges) chosen |= r.first <= window.first && window.last <= r.last;
      text += format_text("  %-6zu  %-7s  %.6f%s\n", i, describe(window).c_str(), result.table[i], chosen ? "  selected" : "");
    }
  }
  return text;
}

}  // namespace lmshrink
