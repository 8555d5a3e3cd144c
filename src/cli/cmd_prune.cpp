// lmshrink prune MODEL -o OUT --method replaceme|uidl|shortgpt --blocks n: depth pruning (ReplaceMe
// with its UIDL and ShortGPT baselines, prune/depth_prune.h), written atomically as a plain HF
// directory (fewer layers, no new tensors), with the tokenizer and the run record lmshrink_run.json
// (eval/run_record.h: selection table, removed blocks, per-range fit errors).
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/calibration.h"
#include "cli/commands.h"
#include "lmshrink/util/stopwatch.h"
#include "lmshrink/eval/run_record.h"
#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/model/inspect.h"
#include "lmshrink/prune/depth_prune.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The option fields (depth_prune.h, sampling.h) and the flags that set them, for the library's error messages.
const FieldFlags kPruneFlags = {
    {"prune.method", "--method"}, {"prune.objective", "--objective"}, {"prune.batch_size", "--batch-size"},
    {"prune.ridge", "--ridge"}, {"prune.blocks", "--blocks"}, {"prune.num_ranges", "--num-ranges"},
    {"prune.distance_tokens", "--distance-tokens"}, {"prune.cosine.epochs", "--epochs"}, {"cosine.epochs", "--epochs"},
    {"prune.cosine.lr", "--lr"}, {"cosine.lr", "--lr"}, {"prune.cosine.batch_tokens", "--cosine-batch"},
    {"cosine.batch_tokens", "--cosine-batch"}, {"prune.cosine.l1", "--l1"}, {"cosine.l1", "--l1"},
    {"prune.cosine.l2", "--l2"}, {"cosine.l2", "--l2"}, {"calib.n_samples", "--calib-samples"},
    {"calib.seq_len", "--calib-seq-len"}, {"prune.ranges", "--ranges"}};

struct PruneArgs {
  std::string model, tokenizer, out, json, ranges;
  bool force = false;
  CalibArgs calib;
  CheckpointArgs checkpoint;
  PruneOptions options;
  CLI::Option* objective_flag = nullptr;  // to refuse --objective with uidl/shortgpt
  CLI::Option* blocks_flag = nullptr;
};


void print_fits(const PruneResult& result, const nlohmann::json& record, const std::string& calibration) {
  for (const RangeFit& f : result.fits) {
    std::printf("blocks %s -> T merged into model.layers.%lld.mlp.down_proj (%lld tokens): relative error %.4f "
                "(dropped: %.4f), cosine distance %.4f (dropped: %.4f)\n",
                describe(f.range).c_str(), static_cast<long long>(f.merged_into), static_cast<long long>(f.tokens),
                f.relative_error, f.relative_error_identity, f.cosine_fitted, f.cosine_identity);
  }
  const nlohmann::json& whole = record["whole_model"];
  std::string objective = record["objective"].is_null() ? "" : " " + record["objective"].get<std::string>();
  std::printf("%s%s: removed blocks %s; layers %lld -> %lld, params %lld -> %lld (%.4f removed); calibration %s; "
              "wrote %s\n", record["method"].get<std::string>().c_str(), objective.c_str(),
              record["removed"].get<std::string>().c_str(), record["layers_before"].get<long long>(),
              record["layers_after"].get<long long>(), whole["params_before"].get<long long>(),
              whole["params_after"].get<long long>(), whole["ratio"].get<double>(), calibration.c_str(),
              record["output"].get<std::string>().c_str());
}

void run_prune(PruneArgs& args) {
  Clock::time_point total_start = Clock::now();
  PruneOptions& options = args.options;
  options.cosine.seed = args.calib.seed;
  options.batch_size = args.calib.batch_size;
  LMSHRINK_CHECK(!args.objective_flag->count() || options.method == "replaceme",
                 "--objective applies to --method replaceme only");
  LMSHRINK_CHECK((args.blocks_flag->count() > 0) != !args.ranges.empty(), "give exactly one of --blocks and --ranges");
  LMSHRINK_CHECK(args.calib.stats_cache.empty(), "--stats-cache applies to compress and profile, not prune");
  if (!args.ranges.empty()) options.ranges = parse_block_ranges(args.ranges);
  LoadedModel loaded = load_model(args.model);
  check_prune_options(*loaded.model, options);  // bad options fail before any calibration
  std::string tokenizer_file = find_tokenizer_path(args.tokenizer, loaded);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(args.tokenizer, loaded);
  RunContext run{loaded.path, args.out, loaded.model->config().source_format == "synthetic"};
  run.load_seconds = seconds_since(total_start);
  Calibration calib = prepare_calibration(args.calib, loaded, *tokenizer, true);
  check_calibration_tokens(*loaded.model, options, calib.tokens.numel());
  AtomicDirectory out(args.out, args.force);  // an existing output fails before the work, too
  check_record_file(args.json);
  int64_t layers_before = loaded.model->config().num_layers;
  run.before = summarize_model(*loaded.model);
  PruneResult result = prune_model(std::move(loaded.model), calib.tokens, options);
  run.after = summarize_model(*result.model);
  std::fputs(selection_table_text(result, options.blocks).c_str(), stdout);

  Clock::time_point start = Clock::now();
  nlohmann::json info = {{"depth_pruning", {{"method", options.method}, {"removed", removed_blocks_text(result)}}}};
  write_hf_model(*result.model, out.staging_path(), info, checkpoint_format(args.checkpoint));  // "compression" appears only for compressed layers
  copy_tokenizer_files(tokenizer_file, out.staging_path());
  run.calibration = calibration_record(calib.spec);
  run.calibration_tokens = calib.tokens.numel();
  run.sample_seconds = calib.sample_seconds;
  run.save_seconds = seconds_since(start);
  run.total_seconds = seconds_since(total_start);
  nlohmann::json record = prune_record(options, result, run, layers_before);
  write_json_file((fs::path(out.staging_path()) / "lmshrink_run.json").string(), record);
  out.commit();
  if (!args.json.empty()) write_json_file(args.json, record);
  print_fits(result, record, describe(calib.spec));
}

}  // namespace

Command add_prune(CLI::App& app) {
  auto a = std::make_shared<PruneArgs>();
  PruneOptions& o = a->options;
  CLI::App* cmd = app.add_subcommand("prune", "Remove transformer blocks (replaceme, uidl, shortgpt) and save the model");
  cmd->add_option("model", a->model, "Hugging Face directory, GGUF file, llama2.c .bin file, or a directory holding one")->required();
  cmd->add_option("-o,--out", a->out, "output directory (written atomically; must not exist unless --force)")->required();
  cmd->add_option("--method", o.method, "replaceme (blocks replaced by a merged linear map), uidl (same selection, "
                                        "dropped), shortgpt (lowest Block Influence layers dropped)")->required();
  a->blocks_flag = cmd->add_option("--blocks", o.blocks, "n: blocks per removed range (shortgpt: layers removed)");
  cmd->add_option("--ranges", a->ranges, "instead of --blocks and the selection: explicit 0-based block ranges to "
                                         "remove, e.g. 2-3 or 1,4 (replaceme, uidl)");
  a->objective_flag = cmd->add_option("--objective", o.objective, "replaceme transform: lstsq (default) or cosine");
  cmd->add_option("--num-ranges", o.num_ranges, "replaceme/uidl: non-overlapping windows of n blocks (default 1)");
  cmd->add_flag("--merge-consecutive", o.merge_consecutive, "fuse touching windows into one range with one transform");
  cmd->add_option("--distance-tokens", o.distance_tokens, "selection statistic over the last token of each sample "
                                                          "(default for replaceme/uidl) or all tokens (shortgpt)");
  cmd->add_option("--ridge", o.ridge, "lstsq: (M^T M + ridge I)^-1 M^T R (default 0)");
  cmd->add_option("--epochs", o.cosine.epochs, "cosine: Adam epochs (default 10)");
  cmd->add_option("--lr", o.cosine.lr, "cosine: Adam learning rate (default 1e-4)");
  cmd->add_option("--cosine-batch", o.cosine.batch_tokens, "cosine: tokens per mini-batch (default 1024)");
  cmd->add_option("--l1", o.cosine.l1, "cosine: weight of the L1 penalty sum |T| (paper: 1e-4; default 0)");
  cmd->add_option("--l2", o.cosine.l2, "cosine: weight of the L2 penalty sum T^2 (paper: 0.01; default 0)");
  add_calibration_flags(*cmd, a->calib);
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer file (default: beside the model)");
  cmd->add_option("--json", a->json, "also write the run record here");
  add_checkpoint_flags(*cmd, a->checkpoint);
  cmd->add_flag("--force", a->force, "replace the output directory if it exists");
  return [a] { run_with_flag_names([a] { run_prune(*a); }, kPruneFlags); };
}

}  // namespace lmshrink::cli
