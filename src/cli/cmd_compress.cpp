// lmshrink compress MODEL -o OUT --method M --ratio R: width compression of the block projections,
// written atomically as a compressed HF directory (config.json "compression" section, factor
// tensors, the tokenizer, and the run record lmshrink_run.json).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/calibration.h"
#include "cli/commands.h"
#include "lmshrink/compress/pipeline.h"
#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/model/inspect.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The option fields (compress_options.h) and the flags that set them, for the library's error messages.
const FieldFlags kCompressFlags = {
    {"method", "--method"}, {"ratio", "--ratio"}, {"budget_bytes", "--budget-bytes"}, {"targets", "--targets"},
    {"mode", "--mode"}, {"batch_size", "--batch-size"}, {"low_rank.asvd_alpha", "--asvd-alpha"},
    {"dictionary.atoms_per_nonzero", "--atoms-per-nonzero"}, {"dictionary.accounting", "--accounting"},
    {"accounting", "--accounting"}, {"dictionary.iterations", "--iterations"},
    {"dictionary.power_iterations", "--power-iterations"}, {"dictionary.omp_batch", "--omp-batch"},
    {"dictionary.seed", "--dict-seed"}, {"dictionary.groups", "--groups"}, {"dictionary.tolerance", "--tolerance"},
    {"dictionary.alloc", "--alloc"}, {"dictionary.alloc_min_ratio", "--alloc-min-ratio"},
    {"dictionary.alloc_max_ratio", "--alloc-max-ratio"}, {"dictionary.quantize_bits", "--quantize"},
    {"dictionary.quant_group", "--quant-group"}, {"rocket.alloc", "--alloc"}, {"rocket.grid.rates", "--rates"},
    {"rocket.grid.ks", "--ks"}, {"rocket.importance_exponent", "--importance-exponent"},
    {"rocket.oversparsify", "--oversparsify"}, {"rocket.precision", "--precision"},
    {"rocket.refine_steps", "--refine-steps"}, {"rocket.refine_lr", "--refine-lr"}, {"masa.atoms", "--masa-atoms"},
    {"masa.groups", "--masa-groups"}, {"masa.residual_rank", "--masa-residual-rank"}, {"masa.mix", "--masa-mix"},
    {"calib.n_samples", "--calib-samples"}, {"calib.seq_len", "--calib-seq-len"}};

// The flags that hold text; compress_options parses them into the enum and integer fields.
struct CompressArgs {
  std::string model, tokenizer, out, method, targets;  // targets: all, or attn for masa
  std::string mode = mode_name(Mode::kOneShot), device = "cpu", json, quantize = "none", alloc, profile, rates, ks;
  std::string accounting = accounting_name(DictionaryOptions{}.accounting);
  std::string masa_groups = masa_spec_name(MasaOptions{}.groups);
  std::string masa_residual_rank = masa_spec_name(MasaOptions{}.residual_rank);
  std::string masa_mix = atom_mix_name(MasaOptions{}.mix);
  double budget_bytes = 0.0;
  bool force = false, no_error_cap = false;
  CalibArgs calib;
  CompressOptions options;  // the numeric fields, set by their flags directly
};

int quantize_bits(const std::string& name) {
  if (name == "none") return 0;
  if (name == "int8") return 8;
  if (name == "int4") return 4;
  fail("--quantize: expected none, int8 or int4, got '", name, "'");
}

CompressOptions compress_options(const CompressArgs& args) {
  CompressOptions options = args.options;
  options.method = parse_method(args.method);
  options.targets = parse_targets(!args.targets.empty() ? args.targets : options.method == Method::kMasa ? "attn" : "all");
  options.mode = parse_mode(args.mode);
  options.batch_size = args.calib.batch_size;
  DictionaryOptions& d = options.dictionary;
  d.accounting = parse_accounting(args.accounting);
  d.quantize_bits = quantize_bits(args.quantize);
  Alloc& alloc = options.method == Method::kRocket ? options.rocket.alloc : d.alloc;
  if (!args.alloc.empty()) alloc = parse_alloc(args.alloc, options.method == Method::kRocket ? "rocket.alloc" : "dictionary.alloc");
  options.rocket.error_cap = !args.no_error_cap;
  if (!args.rates.empty()) options.rocket.grid.rates = parse_grid_list(args.rates, "--rates");
  if (!args.ks.empty()) options.rocket.grid.ks = parse_grid_list(args.ks, "--ks");
  options.masa.groups = parse_masa_spec(args.masa_groups, "masa.groups");
  options.masa.residual_rank = parse_masa_spec(args.masa_residual_rank, "masa.residual_rank");
  options.masa.mix = parse_atom_mix(args.masa_mix);
  return options;
}

std::string default_text(double value) { return str_cat(" (default ", value, ")"); }

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void check_device(const std::string& device) {
  LMSHRINK_CHECK(device == "cpu" || device.rfind("cuda", 0) == 0, "--device: expected cpu or cuda[:k], got ", device);
  LMSHRINK_CHECK(device == "cpu", "--device ", device, ": this build runs compression on the CPU only "
                 "(libtorch ", torch::cuda::is_available() ? "sees a GPU but" : "has no CUDA;",
                 " the CUDA path is not implemented yet)");
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

void print_summary(const nlohmann::json& record) {
  const auto& linears = record["compressed_linears"];
  const auto& whole = record["whole_model"];
  std::printf("%s %s: %zu linears, params %lld -> %lld (ratio %.4f requested, %.4f achieved); whole model %lld -> %lld "
              "params (%.4f), %lld -> %lld bytes (float32)\n",
              record["method"].get<std::string>().c_str(), record["mode"].get<std::string>().c_str(),
              record["layers"].size(), linears["params_before"].get<long long>(), linears["params_after"].get<long long>(),
              record["ratio_requested"].get<double>(), linears["ratio"].get<double>(),
              whole["params_before"].get<long long>(), whole["params_after"].get<long long>(), whole["ratio"].get<double>(),
              whole["bytes_before"].get<long long>(), whole["bytes_after"].get<long long>());
  const auto& words = record["accounting"];
  std::printf("accounting (16-bit words, %s selected): effective %.0f (ratio %.4f), full with index %.0f (ratio %.4f)\n",
              words["selected"].get<std::string>().c_str(), words["words_effective"].get<double>(),
              words["ratio_effective"].get<double>(), words["words_full"].get<double>(), words["ratio_full"].get<double>());
  if (!record["calibration"].is_null()) {
    std::printf("calibration: %s, stats cache %s\n", record["calibration"]["protocol"].get<std::string>().c_str(),
                record["calibration"]["stats_cache"].get<std::string>().c_str());
  }
  if (!record["masa"].is_null()) {
    std::printf("masa: the ratio refers to the %zu attention projections compressed (%lld -> %lld params); the whole model "
                "keeps %.4f of its parameters\n", record["layers"].size(), linears["params_before"].get<long long>(),
                linears["params_after"].get<long long>(),
                1.0 - whole["ratio"].get<double>());
  }
  if (!record["rocket"].is_null()) {
    const auto& rocket = record["rocket"];
    std::printf("rocket %s: allocated ratio %.4f, alpha_min %.2f (-1: uncapped), profile %.2f s (%s)\n",
                rocket["alloc"].get<std::string>().c_str(), rocket["allocated_ratio"].get<double>(),
                rocket["alpha_min"].get<double>(), record["seconds"]["profile"].get<double>(),
                rocket["profile"].get<std::string>().c_str());
  }
  const auto& seconds = record["seconds"];
  std::printf("seconds: calibration %.2f, decomposition %.2f, save %.2f, total %.2f; wrote %s\n",
              seconds["calibration"].get<double>(), seconds["decomposition"].get<double>(), seconds["save"].get<double>(),
              seconds["total"].get<double>(), record["output"].get<std::string>().c_str());
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
          {"allocated_ratio", result.allocated_ratio}, {"importance_exponent", o.importance_exponent},
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

void run_compress(const CompressArgs& args) {
  Clock::time_point total_start = Clock::now();
  check_device(args.device);
  CompressOptions options = compress_options(args);
  LoadedModel loaded = load_model(args.model);
  bool masa_atoms = options.method == Method::kMasa && options.masa.atoms > 0;
  LMSHRINK_CHECK(masa_atoms || (options.ratio > 0) != (args.budget_bytes > 0), "give exactly one of --ratio and --budget-bytes");
  LMSHRINK_CHECK(!masa_atoms || (options.ratio == 0 && args.budget_bytes == 0), "--masa-atoms replaces --ratio and --budget-bytes");
  if (args.budget_bytes > 0) options.ratio = ratio_for_budget_bytes(*loaded.model, options.targets, args.budget_bytes);
  std::string tokenizer_file = find_tokenizer_path(args.tokenizer, loaded);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(args.tokenizer, loaded);
  check_compress_options(*loaded.model, options);  // bad ratios fail before any calibration
  AtomicDirectory out(args.out, args.force);       // so does an existing output directory
  double load_seconds = seconds_since(total_start);

  Calibration calib;
  bool calibrate = method_needs_calibration(options.method) && (options.method != Method::kMasa || masa_needs_calibration(options));
  if (calibrate) calib = prepare_calibration(args.calib, loaded, *tokenizer, options.mode == Mode::kOneShot);
  std::vector<MatrixProfile> saved_profile;
  if (!args.profile.empty()) {
    LMSHRINK_CHECK(options.method == Method::kRocket, "--profile applies to --method rocket");
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(read_text_file(args.profile, "--profile"));
      saved_profile = profile_from_json(json, *loaded.model, options.targets, accounting_name(options.dictionary.accounting),
                                        args.profile);
    } catch (const nlohmann::json::exception& e) {
      fail(args.profile, ": not a valid profile (", e.what(), ")");
    }
  }
  ModelSummary before = summarize_model(*loaded.model);
  CompressResult result = compress_model(*loaded.model, calib.tokens, options, calib.cached.empty() ? nullptr : &calib.cached,
                                         saved_profile.empty() ? nullptr : &saved_profile);
  ModelSummary after = summarize_model(*loaded.model);

  Clock::time_point save_start = Clock::now();
  nlohmann::json calibration = calibrate ? calibration_json(calib) : nlohmann::json();
  nlohmann::json info = {{"method", method_name(options.method)}, {"ratio", options.ratio}, {"mode", mode_name(options.mode)},
                         {"targets", options.targets}, {"calibration", calibration}, {"source", loaded.path}};
  if (method_is_dictionary(options.method)) info["dictionary"] = dictionary_settings(options);
  if (options.method == Method::kRocket) info["rocket"] = rocket_settings(options, result, args.profile);
  if (options.method == Method::kMasa) info["masa"] = masa_settings(options, result);
  write_hf_model(*loaded.model, out.staging_path(), info);
  if (options.method == Method::kRocket) {
    write_json_file((fs::path(out.staging_path()) / "rocket_profile.json").string(),
                    profile_to_json(result.profile, profile_settings(options)));
  }
  copy_tokenizer_files(tokenizer_file, out.staging_path());
  double save_seconds = seconds_since(save_start);  // the run record itself is not timed
  LinearTotals t = linear_totals(result);
  if (calibrate) {
    calibration["tokens"] = calib.tokens.numel();
    calibration["skipped_batches"] = result.skipped_batches;
    calibration["stats_cache"] = calib.cache_status;
  }
  nlohmann::json record = {
      {"command", "compress"}, {"date", now_iso8601()}, {"model", loaded.path}, {"output", args.out},
      {"method", method_name(options.method)}, {"mode", mode_name(options.mode)}, {"targets", options.targets},
      {"ratio_requested", options.ratio},
      {"compressed_linears", size_record(t.params_before, t.params_after, t.bytes_before, t.bytes_after)},
      {"accounting", accounting_record(t, accounting_name(options.dictionary.accounting))},
      {"dictionary", method_is_dictionary(options.method) ? dictionary_settings(options) : nlohmann::json()},
      {"rocket", options.method == Method::kRocket ? rocket_settings(options, result, args.profile) : nlohmann::json()},
      {"masa", options.method == Method::kMasa ? masa_settings(options, result) : nlohmann::json()},
      {"whole_model", size_record(before.total_params, after.total_params, before.total_bytes, after.total_bytes)},
      {"calibration", calibration}, {"layers", layer_records(result)}, {"dtype", "float32"},
      {"synthetic_model", loaded.model->config().source_format == "synthetic"},
      {"seconds", {{"load", load_seconds}, {"sample", calib.sample_seconds},
                   {"calibration", result.calibration_seconds + calib.cache_seconds},
                   {"profile", result.profile_seconds},
                   {"decomposition", result.decomposition_seconds}, {"save", save_seconds},
                   {"total", seconds_since(total_start)}, {"threads", torch::get_num_threads()}}}};
  write_json_file((fs::path(out.staging_path()) / "lmshrink_run.json").string(), record);
  out.commit();
  if (!args.json.empty()) write_json_file(args.json, record);
  print_summary(record);
}

void add_common_flags(CLI::App& cmd, CompressArgs& a) {
  CompressOptions& o = a.options;
  cmd.add_option("--ratio", o.ratio, "fraction of the targeted matrices' parameters to remove, in (0, 1)");
  cmd.add_option("--budget-bytes", a.budget_bytes, "instead of --ratio: bytes for the targeted matrices, against "
                                                   "2 bytes per dense weight (bf16)");
  cmd.add_option("--targets", a.targets, "all (default; attn for masa), attn, mlp, or a comma list of q,k,v,o,gate,up,down");
  cmd.add_option("--mode", a.mode, "one-shot (statistics of the original model, default) or sequential "
                                   "(block l calibrated on the compressed blocks before it)");
  add_calibration_flags(cmd, a.calib);
  cmd.add_option("--asvd-alpha", o.low_rank.asvd_alpha, "ASVD scaling exponent" + default_text(o.low_rank.asvd_alpha));
}

void add_dictionary_flags(CLI::App& cmd, CompressArgs& a) {
  DictionaryOptions& d = a.options.dictionary;
  cmd.add_option("--atoms-per-nonzero", d.atoms_per_nonzero, "cospadi/compot: k/s, atoms per nonzero" + default_text(d.atoms_per_nonzero));
  cmd.add_option("--accounting", a.accounting, "cospadi/compot sizes: full (index storage counted) or effective "
                                               "(CoSpaDi eq. 11); default " + a.accounting);
  cmd.add_option("--iterations", d.iterations, "cospadi: K-SVD alternations (default 60); compot: cap (default 20)");
  cmd.add_option("--power-iterations", d.power_iterations, "cospadi: power iterations per atom update" + default_text(d.power_iterations));
  cmd.add_option("--omp-batch", d.omp_batch, "cospadi: columns per Batch-OMP batch" + default_text(d.omp_batch));
  cmd.add_option("--dict-seed", d.seed, "cospadi: dictionary initialisation seed" + default_text(d.seed));
  cmd.add_option("--groups", d.groups, "cospadi/compot: consecutive layers sharing one dictionary (default " +
                                       std::to_string(d.groups) + "; a remainder forms a smaller last group)");
  cmd.add_option("--tolerance", d.tolerance, "compot: stop at this relative objective decrease" + default_text(d.tolerance));
  cmd.add_option("--alloc", a.alloc, "per-matrix rates: uniform (default), dynamic (cospadi/compot: pooled spectrum), "
                                     "mckp (rocket's default: multi-choice knapsack over the profile)");
  cmd.add_option("--alloc-min-ratio", d.alloc_min_ratio, "--alloc dynamic: least ratio of any matrix" + default_text(d.alloc_min_ratio));
  cmd.add_option("--alloc-max-ratio", d.alloc_max_ratio, "--alloc dynamic: largest ratio of any matrix" + default_text(d.alloc_max_ratio));
  cmd.add_option("--quantize", a.quantize, "cospadi/compot factors: none (default), int8 or int4 (group RTN)");
  cmd.add_option("--quant-group", d.quant_group, "values per fp16 scale with --quantize" + default_text(d.quant_group));
}

void add_rocket_flags(CLI::App& cmd, CompressArgs& a) {
  RocketCompressOptions& r = a.options.rocket;
  cmd.add_option("--profile", a.profile, "rocket: a saved profile (lmshrink profile) instead of profiling here");
  cmd.add_option("--rates", a.rates, "rocket profile: candidate rates, first:last:step or a list (default 0.05:0.70:0.05)");
  cmd.add_option("--ks", a.ks, "rocket profile: candidate r/s ratios, each >= 1 (default 1.0:3.0:0.1)");
  cmd.add_flag("--allow-uncompressed,!--drop-uncompressed", r.allow_uncompressed,
               "rocket mckp: a matrix may stay dense (default); --drop-uncompressed is the reference code's behaviour");
  cmd.add_flag("--no-error-cap", a.no_error_cap, "rocket mckp: skip the α_min error cap of the paper's App. C");
  cmd.add_option("--precision", r.precision, "rocket mckp: knapsack steps of the total" + default_text(r.precision));
  cmd.add_option("--refine-steps", r.refine_steps, "rocket: Adam steps of local refinement per matrix" + default_text(r.refine_steps));
  cmd.add_option("--refine-lr", r.refine_lr, "rocket: refinement learning rate" + default_text(r.refine_lr));
  cmd.add_option("--importance-exponent", r.importance_exponent, "rocket: λ of |c| ν^λ" + default_text(r.importance_exponent));
  cmd.add_option("--oversparsify", r.oversparsify, "rocket: β, the per-column over-sparsification" + default_text(r.oversparsify));
}

void add_masa_flags(CLI::App& cmd, CompressArgs& a) {
  cmd.add_option("--masa-atoms", a.options.masa.atoms, "masa: atoms S per projection type and group, instead of --ratio (1 <= S <= L)")
      ->check(CLI::Validator([](std::string& v) { return v == "0" ? std::string("S = 0 atoms keep nothing; need 1 <= S <= L") : std::string(); }, "S"));
  cmd.add_option("--masa-groups", a.masa_groups, "masa: 1 (all layers share one bank, default " + a.masa_groups + "), N groups "
                                                 "of consecutive layers cut at the largest logit-lens KL drifts, or auto");
  cmd.add_option("--masa-residual-rank", a.masa_residual_rank, "masa: 0 (default " + a.masa_residual_rank + "), the whitened "
                 "residual rank of q/o (k/v scaled by kv/q size under GQA), or auto (fill the budget)");
  cmd.add_option("--masa-mix", a.masa_mix, "masa: synthesize (W formed once at load) or runtime (mixed per forward); "
                                           "default " + a.masa_mix);
}

}  // namespace

Command add_compress(CLI::App& app) {
  auto a = std::make_shared<CompressArgs>();
  CLI::App* cmd = app.add_subcommand("compress", "Compress the block projections (" + method_names() + ") and save the model");
  cmd->add_option("model", a->model, "Hugging Face directory, llama2.c .bin file, or a directory holding one")->required();
  cmd->add_option("-o,--out", a->out, "output directory (written atomically; must not exist unless --force)")->required();
  cmd->add_option("--method", a->method, "svd (data-free), asvd (activation-aware), svd-llm (whitened), cospadi "
                                         "(K-SVD sparse dictionary), compot (orthogonal dictionary), rocket (knapsack + sparse factorization), masa (shared attention atoms)")->required();
  add_common_flags(*cmd, *a);
  add_dictionary_flags(*cmd, *a);
  add_rocket_flags(*cmd, *a);
  add_masa_flags(*cmd, *a);
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer file (default: beside the model)");
  cmd->add_option("--device", a->device, "cpu (default); cuda is not implemented yet");
  cmd->add_option("--json", a->json, "also write the run record here");
  cmd->add_flag("--force", a->force, "replace the output directory if it exists");
  return [a] { run_with_flag_names([a] { run_compress(*a); }, kCompressFlags); };
}

}  // namespace lmshrink::cli
