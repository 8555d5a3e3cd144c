// lmshrink compress MODEL -o OUT --method M --ratio R: width compression of the block projections,
// written atomically as a compressed HF directory (config.json "compression" section, factor
// tensors, the tokenizer, and the run record lmshrink_run.json). Flags: compress_flags.h; work: compress/pipeline.h;
// the record: eval/run_record.h.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/calibration.h"
#include "cli/commands.h"
#include "cli/compress_flags.h"
#include "lmshrink/util/stopwatch.h"
#include "lmshrink/compress/pipeline.h"
#include "lmshrink/eval/run_record.h"
#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/model/inspect.h"
#include "lmshrink/runtime/throughput.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;


void check_device(const std::string& device) {
  LMSHRINK_CHECK(device == "cpu" || device.rfind("cuda", 0) == 0, "--device: expected cpu or cuda[:k], got ", device);
  LMSHRINK_CHECK(device == "cpu", "--device ", device, ": this build runs compression on the CPU only "
                 "(libtorch ", torch::cuda::is_available() ? "sees a GPU but" : "has no CUDA;",
                 " the CUDA path is not implemented yet)");
}

// --ratio, --budget-bytes and --masa-atoms: exactly one sizes the run.
void apply_budget(const CompressArgs& args, const Transformer& model, CompressOptions& options) {
  bool masa_atoms = options.method == Method::kMasa && options.masa.atoms > 0;
  LMSHRINK_CHECK(masa_atoms || (options.ratio > 0) != (args.budget_bytes > 0), "give exactly one of --ratio and --budget-bytes");
  LMSHRINK_CHECK(!masa_atoms || (options.ratio == 0 && args.budget_bytes == 0), "--masa-atoms replaces --ratio and --budget-bytes");
  if (args.budget_bytes > 0) options.ratio = ratio_for_budget_bytes(model, options.targets, args.budget_bytes);
}

std::vector<MatrixProfile> read_profile(const std::string& path, const Transformer& model, const CompressOptions& options) {
  if (path.empty()) return {};
  LMSHRINK_CHECK(options.method == Method::kRocket, "--profile applies to --method rocket");
  try {
    nlohmann::json json = nlohmann::json::parse(read_text_file(path, "--profile"));
    return profile_from_json(json, model, options.targets, accounting_name(options.dictionary.accounting),
                             options.rocket.profile_metric, path, options.dictionary.quantize_bits);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": not a valid profile (", e.what(), ")");
  }
}

bool needs_calibration(const CompressOptions& options) {
  return method_needs_calibration(options.method) && (options.method != Method::kMasa || masa_needs_calibration(options));
}

void run_compress(const CompressArgs& args) {
  Clock::time_point total_start = Clock::now();
  check_device(args.device);
  CompressOptions options = compress_options(args);
  CheckpointFormat format = checkpoint_format(args.checkpoint);
  LoadedModel loaded = load_model(args.model);
  apply_budget(args, *loaded.model, options);
  std::string tokenizer_file = find_tokenizer_path(args.tokenizer, loaded);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(args.tokenizer, loaded);
  check_compress_options(*loaded.model, options);  // bad ratios fail before any calibration
  AtomicDirectory out(args.out, args.force);       // so does an existing output directory
  check_record_file(args.json);
  RunContext run{loaded.path, args.out, loaded.model->config().source_format == "synthetic"};
  run.load_seconds = seconds_since(total_start);

  Calibration calib;
  bool calibrate = needs_calibration(options);
  if (calibrate) calib = prepare_calibration(args.calib, loaded, *tokenizer, options.mode == Mode::kOneShot);
  std::vector<MatrixProfile> saved_profile = read_profile(args.profile, *loaded.model, options);
  run.before = summarize_model(*loaded.model);
  // Each block is written as soon as it is final and then dropped: one block in memory (compress_model's on_block_done).
  HfModelWriter writer(*loaded.model, out.staging_path(), format);
  double write_seconds = 0.0;
  auto write_block = [&](int64_t layer) {
    Clock::time_point start = Clock::now();
    writer.write_block(layer);
    release_block(loaded.model->mutable_blocks()[layer], writer.block_linear_bytes(layer));
    write_seconds += seconds_since(start);
  };
  CompressResult result = compress_model(*loaded.model, calib.tokens, options, calib.cached.empty() ? nullptr : &calib.cached,
                                         saved_profile.empty() ? nullptr : &saved_profile, write_block);
  run.after = summarize_model(*loaded.model);

  Clock::time_point save_start = Clock::now();
  if (calibrate) run.calibration = calibration_record(calib.spec);
  run.dtype = checkpoint_dtype_name(writer.dtype());
  run.output_file_bytes = writer.finish(compression_info(options, result, run, args.profile));
  run.input_file_bytes = checkpoint_file_bytes(loaded.path);
  if (options.method == Method::kRocket) {
    write_json_file((fs::path(out.staging_path()) / "rocket_profile.json").string(),
                    profile_to_json(result.profile, profile_settings(options)));
  }
  copy_tokenizer_files(tokenizer_file, out.staging_path());
  run.save_seconds = seconds_since(save_start) + write_seconds;  // the run record itself is not timed
  run.calibration_tokens = calib.tokens.defined() ? calib.tokens.numel() : 0;
  run.stats_cache = calib.cache_status;
  run.sample_seconds = calib.sample_seconds;
  run.cache_seconds = calib.cache_seconds;
  run.total_seconds = seconds_since(total_start);
  run.peak_rss_bytes = peak_rss_bytes();
  nlohmann::json record = compress_record(options, result, run, args.profile);
  write_json_file((fs::path(out.staging_path()) / "lmshrink_run.json").string(), record);
  out.commit();
  if (!args.json.empty()) write_json_file(args.json, record);
  std::fputs(compress_summary(record).c_str(), stdout);
}

}  // namespace

Command add_compress(CLI::App& app) {
  auto a = std::make_shared<CompressArgs>();
  CLI::App* cmd = app.add_subcommand("compress", "Compress the block projections (" + method_names() + ") and save the model");
  cmd->add_option("model", a->model, "Hugging Face directory, GGUF file, llama2.c .bin file, or a directory holding one")->required();
  cmd->add_option("-o,--out", a->out, "output directory (written atomically; must not exist unless --force)")->required();
  cmd->add_option("--method", a->method, "svd (data-free), asvd (activation-aware), svd-llm (whitened), cospadi "
                                         "(K-SVD sparse dictionary), compot (orthogonal dictionary), rocket (knapsack + "
                                         "sparse factorization), masa (shared attention atoms)")->required();
  add_compress_flags(*cmd, *a);
  return [a] { run_with_flag_names([a] { run_compress(*a); }, kCompressFlags); };
}

}  // namespace lmshrink::cli
