// lmshrink compress MODEL -o OUT --method M --ratio R: width compression of the block projections,
// written atomically as a compressed HF directory (config.json "compression" section, factor
// tensors, the tokenizer, and the run record lmshrink_run.json).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "lmshrink/calib/corpus.h"
#include "lmshrink/calib/sampling.h"
#include "lmshrink/calib/stats_cache.h"
#include "lmshrink/calib/streaming.h"
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

struct CompressArgs {
  std::string model, tokenizer, out, method, calib = "c4-train", sampling = "blocks", targets = "all";
  std::string mode = "one-shot", stats_cache, device = "cpu", json, quantize = "none";
  double ratio = 0.0, asvd_alpha = 0.5, budget_bytes = 0.0;
  int64_t calib_samples = 256, calib_seq_len = 0, batch_size = 8;
  uint64_t seed = 0;
  bool force = false;
  CompressOptions dict;  // the sparse-dictionary fields (atoms_per_nonzero ... quant_group)
};

int quantize_bits(const std::string& name) {
  if (name == "none") return 0;
  if (name == "int8") return 8;
  if (name == "int4") return 4;
  fail("--quantize: expected none, int8 or int4, got '", name, "'");
}

CompressOptions compress_options(const CompressArgs& args) {
  CompressOptions options = args.dict;
  options.method = args.method;
  options.ratio = args.ratio;
  options.targets = parse_targets(args.targets);
  options.mode = args.mode;
  options.asvd_alpha = args.asvd_alpha;
  options.batch_size = args.batch_size;
  options.quantize_bits = quantize_bits(args.quantize);
  return options;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Identity of the model files for the statistics cache key: canonical path, sizes and mtimes.
std::string model_identity(const std::string& path) {
  std::string id = fs::canonical(path).string();
  auto add = [&id](const fs::path& file) {
    id += str_cat("|", file.filename().string(), ":", fs::file_size(file), ":",
                  fs::last_write_time(file).time_since_epoch().count());
  };
  if (fs::is_directory(path)) {
    for (const auto& entry : fs::directory_iterator(path)) {
      if (entry.is_regular_file() && entry.path().extension() == ".safetensors") add(entry.path());
    }
  } else {
    add(path);
  }
  return id;
}

void check_device(const std::string& device) {
  LMSHRINK_CHECK(device == "cpu" || device.rfind("cuda", 0) == 0, "--device: expected cpu or cuda[:k], got ", device);
  LMSHRINK_CHECK(device == "cpu", "--device ", device, ": this build runs compression on the CPU only "
                 "(libtorch ", torch::cuda::is_available() ? "sees a GPU but" : "has no CUDA;",
                 " the CUDA path is not implemented yet)");
}

struct Calibration {
  CalibSpec spec;
  at::Tensor tokens;               // [n, seq] int64, undefined for data-free methods
  std::vector<BlockStats> cached;  // one-shot statistics from (or for) --stats-cache
  std::string cache_status = "off";
  double sample_seconds = 0.0, cache_seconds = 0.0;
};

Calibration prepare_calibration(const CompressArgs& args, const LoadedModel& loaded, const Tokenizer& tokenizer,
                                const CompressOptions& options) {
  Calibration c;
  const ModelConfig& config = loaded.model->config();
  c.spec = CalibSpec{args.calib, args.sampling, args.calib_samples,
                     args.calib_seq_len > 0 ? args.calib_seq_len : std::min<int64_t>(1024, config.max_position_embeddings),
                     args.seed};
  LMSHRINK_CHECK(c.spec.seq_len <= config.max_position_embeddings, "--calib-seq-len ", c.spec.seq_len,
                 " exceeds the model context of ", config.max_position_embeddings);
  Clock::time_point start = Clock::now();
  c.tokens = sample_calibration(read_corpus(args.calib), tokenizer, c.spec);
  c.sample_seconds = seconds_since(start);
  if (args.stats_cache.empty()) return c;
  LMSHRINK_CHECK(options.mode == "one-shot", "--stats-cache: statistics of --mode sequential depend on the "
                 "compressed blocks and cannot be cached; use --mode one-shot");
  start = Clock::now();
  std::string key = cache_key(model_identity(loaded.path), c.spec);
  if (auto stats = load_stats(args.stats_cache, key)) {
    c.cached = std::move(*stats);
    c.cache_status = "hit " + stats_cache_path(args.stats_cache, key);
  } else {
    c.cached = collect_all_one_shot(*loaded.model, c.tokens, options.batch_size);
    save_stats(args.stats_cache, key, c.cached, {{"model", loaded.path}, {"calib", describe(c.spec)}});
    c.cache_status = "miss, saved " + stats_cache_path(args.stats_cache, key);
  }
  c.cache_seconds = seconds_since(start);
  return c;
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

nlohmann::json calibration_json(const Calibration& calib) {
  return {{"protocol", describe(calib.spec)}, {"corpus", calib.spec.corpus}, {"sampling", calib.spec.sampling},
          {"n_samples", calib.spec.n_samples}, {"seq_len", calib.spec.seq_len}, {"seed", calib.spec.seed}};
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
  const auto& seconds = record["seconds"];
  std::printf("seconds: calibration %.2f, decomposition %.2f, save %.2f, total %.2f; wrote %s\n",
              seconds["calibration"].get<double>(), seconds["decomposition"].get<double>(), seconds["save"].get<double>(),
              seconds["total"].get<double>(), record["output"].get<std::string>().c_str());
}

nlohmann::json dictionary_settings(const CompressOptions& o) {
  return {{"atoms_per_nonzero", o.atoms_per_nonzero}, {"accounting", o.accounting}, {"iterations", o.iterations},
          {"power_iterations", o.power_iterations}, {"omp_batch", o.omp_batch}, {"seed", o.seed}, {"groups", o.groups},
          {"tolerance", o.tolerance}, {"alloc", o.alloc}, {"alloc_min_ratio", o.alloc_min_ratio},
          {"alloc_max_ratio", o.alloc_max_ratio}, {"quantize_bits", o.quantize_bits}, {"quant_group", o.quant_group}};
}

void run_compress(const CompressArgs& args) {
  Clock::time_point total_start = Clock::now();
  check_device(args.device);
  CompressOptions options = compress_options(args);
  LoadedModel loaded = load_model(args.model);
  LMSHRINK_CHECK((options.ratio > 0) != (args.budget_bytes > 0), "give exactly one of --ratio and --budget-bytes");
  if (args.budget_bytes > 0) options.ratio = ratio_for_budget_bytes(*loaded.model, options.targets, args.budget_bytes);
  std::string tokenizer_file = find_tokenizer_path(args.tokenizer, loaded);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(args.tokenizer, loaded);
  check_compress_options(*loaded.model, options);  // bad ratios fail before any calibration
  AtomicDirectory out(args.out, args.force);       // so does an existing output directory
  double load_seconds = seconds_since(total_start);

  Calibration calib;
  bool calibrate = method_needs_calibration(options.method);
  if (calibrate) calib = prepare_calibration(args, loaded, *tokenizer, options);
  ModelSummary before = summarize_model(*loaded.model);
  CompressResult result = compress_model(*loaded.model, calib.tokens, options, calib.cached.empty() ? nullptr : &calib.cached);
  ModelSummary after = summarize_model(*loaded.model);

  Clock::time_point save_start = Clock::now();
  nlohmann::json calibration = calibrate ? calibration_json(calib) : nlohmann::json();
  nlohmann::json info = {{"method", options.method}, {"ratio", options.ratio}, {"mode", options.mode},
                         {"targets", options.targets}, {"calibration", calibration}, {"source", loaded.path}};
  if (method_is_dictionary(options.method)) info["dictionary"] = dictionary_settings(options);
  write_hf_model(*loaded.model, out.staging_path(), info);
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
      {"method", options.method}, {"mode", options.mode}, {"targets", options.targets}, {"ratio_requested", options.ratio},
      {"compressed_linears", size_record(t.params_before, t.params_after, t.bytes_before, t.bytes_after)},
      {"accounting", accounting_record(t, options.accounting)},
      {"dictionary", method_is_dictionary(options.method) ? dictionary_settings(options) : nlohmann::json()},
      {"whole_model", size_record(before.total_params, after.total_params, before.total_bytes, after.total_bytes)},
      {"calibration", calibration}, {"layers", layer_records(result)}, {"dtype", "float32"},
      {"synthetic_model", loaded.model->config().source_format == "synthetic"},
      {"seconds", {{"load", load_seconds}, {"sample", calib.sample_seconds},
                   {"calibration", result.calibration_seconds + calib.cache_seconds},
                   {"decomposition", result.decomposition_seconds}, {"save", save_seconds},
                   {"total", seconds_since(total_start)}, {"threads", torch::get_num_threads()}}}};
  write_json_file((fs::path(out.staging_path()) / "lmshrink_run.json").string(), record);
  out.commit();
  if (!args.json.empty()) write_json_file(args.json, record);
  print_summary(record);
}

}  // namespace

Command add_compress(CLI::App& app) {
  auto a = std::make_shared<CompressArgs>();
  CLI::App* cmd =
      app.add_subcommand("compress", "Compress the block projections (svd, asvd, svd-llm, cospadi, compot) and save the model");
  cmd->add_option("model", a->model, "Hugging Face directory, llama2.c .bin file, or a directory holding one")->required();
  cmd->add_option("-o,--out", a->out, "output directory (written atomically; must not exist unless --force)")->required();
  cmd->add_option("--method", a->method, "svd (data-free), asvd (activation-aware), svd-llm (whitened), cospadi "
                                         "(K-SVD sparse dictionary), compot (orthogonal dictionary)")->required();
  cmd->add_option("--ratio", a->ratio, "fraction of the targeted matrices' parameters to remove, in (0, 1)");
  cmd->add_option("--budget-bytes", a->budget_bytes, "instead of --ratio: bytes for the targeted matrices, against "
                                                     "2 bytes per dense weight (bf16)");
  cmd->add_option("--targets", a->targets, "all (default), attn, mlp, or a comma list of q,k,v,o,gate,up,down");
  cmd->add_option("--mode", a->mode, "one-shot (statistics of the original model, default) or sequential "
                                     "(block l calibrated on the compressed blocks before it)");
  cmd->add_option("--calib", a->calib, "calibration corpus: a preset (c4-train, c4-validation, wikitext2, "
                                       "tinystories, ptb) or a .jsonl / text file (default c4-train)");
  cmd->add_option("--calib-sampling", a->sampling, "blocks (default; ROCKET) or random-offset (SVD-LLM)");
  cmd->add_option("--calib-samples", a->calib_samples, "calibration sequences (default 256)")->check(CLI::PositiveNumber);
  cmd->add_option("--calib-seq-len", a->calib_seq_len, "tokens per sequence (default min(1024, context))")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", a->seed, "calibration sampling seed (default 0)");
  cmd->add_option("--batch-size", a->batch_size, "calibration sequences per block forward (default 8)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--asvd-alpha", a->asvd_alpha, "ASVD scaling exponent (default 0.5)");
  CompressOptions& d = a->dict;
  cmd->add_option("--atoms-per-nonzero", d.atoms_per_nonzero, "cospadi/compot: k/s, atoms per nonzero (default 2)");
  cmd->add_option("--accounting", d.accounting, "cospadi/compot sizes: full (index storage counted, default) or "
                                                "effective (CoSpaDi eq. 11)");
  cmd->add_option("--iterations", d.iterations, "cospadi: K-SVD alternations (default 60); compot: cap (default 20)");
  cmd->add_option("--power-iterations", d.power_iterations, "cospadi: power iterations per atom update (default 8)");
  cmd->add_option("--omp-batch", d.omp_batch, "cospadi: columns per Batch-OMP batch (default 8192)");
  cmd->add_option("--dict-seed", d.seed, "cospadi: dictionary initialisation seed (default 42)");
  cmd->add_option("--groups", d.groups, "cospadi/compot: consecutive layers sharing one dictionary (default 1; a "
                                        "remainder forms a smaller last group)");
  cmd->add_option("--tolerance", d.tolerance, "compot: stop at this relative objective decrease (default 1e-4)");
  cmd->add_option("--alloc", d.alloc, "cospadi/compot rates: uniform (default) or dynamic (pooled spectrum)");
  cmd->add_option("--alloc-min-ratio", d.alloc_min_ratio, "--alloc dynamic: least ratio of any matrix (default 0.05)");
  cmd->add_option("--alloc-max-ratio", d.alloc_max_ratio, "--alloc dynamic: largest ratio of any matrix (default 0.8)");
  cmd->add_option("--quantize", a->quantize, "cospadi/compot factors: none (default), int8 or int4 (group RTN)");
  cmd->add_option("--quant-group", d.quant_group, "values per fp16 scale with --quantize (default 128)");
  cmd->add_option("--stats-cache", a->stats_cache, "folder caching one-shot calibration statistics across runs");
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer file (default: beside the model)");
  cmd->add_option("--device", a->device, "cpu (default); cuda is not implemented yet");
  cmd->add_option("--json", a->json, "also write the run record here");
  cmd->add_flag("--force", a->force, "replace the output directory if it exists");
  return [a] { run_compress(*a); };
}

}  // namespace lmshrink::cli
