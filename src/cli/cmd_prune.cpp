// lmshrink prune MODEL -o OUT --method replaceme|uidl|shortgpt --blocks n: depth pruning (ReplaceMe
// with its UIDL and ShortGPT baselines, prune/depth_prune.h), written atomically as a plain HF
// directory (fewer layers, no new tensors), with the tokenizer and the run record lmshrink_run.json
// (selection table, removed blocks, per-range fit errors).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/commands.h"
#include "lmshrink/calib/corpus.h"
#include "lmshrink/calib/sampling.h"
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
    {"calib.seq_len", "--calib-seq-len"}};

struct PruneArgs {
  std::string model, tokenizer, out, json, ranges, calib = "c4-train", sampling = "blocks";
  int64_t calib_samples = 256, calib_seq_len = 0;
  uint64_t seed = 0;
  bool force = false;
  PruneOptions options;
  CLI::Option* objective_flag = nullptr;  // to refuse --objective with uidl/shortgpt
  CLI::Option* blocks_flag = nullptr;
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// "2-3,5" -> {2, 3}, {5, 5}: 0-based inclusive block ranges of --ranges.
std::vector<BlockRange> parse_ranges(const std::string& text) {
  std::vector<BlockRange> ranges;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    BlockRange range;
    size_t dash = item.find('-');
    try {
      size_t used = 0;
      range.first = std::stoll(item, &used);
      LMSHRINK_CHECK(used == (dash == std::string::npos ? item.size() : dash), "");
      range.last = range.first;
      if (dash != std::string::npos) {
        std::string last = item.substr(dash + 1);
        range.last = std::stoll(last, &used);
        LMSHRINK_CHECK(used == last.size(), "");
      }
    } catch (const std::exception&) {
      fail("--ranges: expected comma-separated blocks or FIRST-LAST ranges (0-based), got '", text, "'");
    }
    ranges.push_back(range);
  }
  LMSHRINK_CHECK(!ranges.empty(), "--ranges: no range given");
  return ranges;
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

void print_table(const PruneResult& result, int64_t blocks) {
  auto removed = [&](int64_t layer) {
    return std::find(result.removed_layers.begin(), result.removed_layers.end(), layer) != result.removed_layers.end();
  };
  if (result.table_kind == "block_influence") {
    std::printf("block influence BI_i = 1 - mean cos(x_i, x_i+1) (%s tokens):\n  layer  BI\n",
                result.distance_tokens.c_str());
    for (size_t i = 0; i < result.table.size(); ++i) {
      std::printf("  %-5zu  %.6f%s\n", i, result.table[i], removed(static_cast<int64_t>(i)) ? "  removed" : "");
    }
  } else if (result.table_kind == "angular_distance") {
    std::printf("angular distance d_l = arccos(cos(h_l, h_l+%lld))/pi (%s token):\n  window  removes  distance\n",
                static_cast<long long>(blocks), result.distance_tokens.c_str());
    for (size_t i = 0; i < result.table.size(); ++i) {
      BlockRange window{static_cast<int64_t>(i) + 1, static_cast<int64_t>(i) + blocks};
      bool chosen = false;
      for (const BlockRange& r : result.ranges) chosen |= r.first <= window.first && window.last <= r.last;
      std::printf("  %-6zu  %-7s  %.6f%s\n", i, describe(window).c_str(), result.table[i], chosen ? "  selected" : "");
    }
  }
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
  return {{"params_before", before.total_params}, {"params_after", after.total_params},
          {"bytes_before", before.total_bytes}, {"bytes_after", after.total_bytes},
          {"ratio", 1.0 - static_cast<double>(after.total_params) / before.total_params}};
}

std::string removed_text(const PruneResult& result) {
  std::string text;
  for (const BlockRange& r : result.ranges) text += (text.empty() ? "" : ",") + describe(r);
  return text;
}

void run_prune(PruneArgs& args) {
  Clock::time_point total_start = Clock::now();
  PruneOptions& options = args.options;
  options.cosine.seed = args.seed;
  LMSHRINK_CHECK(!args.objective_flag->count() || options.method == "replaceme",
                 "--objective applies to --method replaceme only");
  LMSHRINK_CHECK((args.blocks_flag->count() > 0) != !args.ranges.empty(), "give exactly one of --blocks and --ranges");
  if (!args.ranges.empty()) options.ranges = parse_ranges(args.ranges);
  LoadedModel loaded = load_model(args.model);
  const ModelConfig config = loaded.model->config();
  check_prune_options(*loaded.model, options);  // bad options fail before any calibration
  std::string tokenizer_file = find_tokenizer_path(args.tokenizer, loaded);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(args.tokenizer, loaded);
  CalibSpec spec{args.calib, args.sampling, args.calib_samples,
                 args.calib_seq_len > 0 ? args.calib_seq_len : std::min<int64_t>(1024, config.max_position_embeddings),
                 args.seed};
  LMSHRINK_CHECK(spec.seq_len <= config.max_position_embeddings, "--calib-seq-len ", spec.seq_len,
                 " exceeds the model context of ", config.max_position_embeddings);
  check_calibration_tokens(*loaded.model, options, spec.n_samples * spec.seq_len);
  AtomicDirectory out(args.out, args.force);  // an existing output fails before the work, too
  double load_seconds = seconds_since(total_start);

  Clock::time_point start = Clock::now();
  at::Tensor tokens = sample_calibration(read_corpus(args.calib), *tokenizer, spec);  // [n, seq]
  double sample_seconds = seconds_since(start);
  ModelSummary before = summarize_model(*loaded.model);
  PruneResult result = prune_model(std::move(loaded.model), tokens, options);
  ModelSummary after = summarize_model(*result.model);
  print_table(result, options.blocks);

  start = Clock::now();
  nlohmann::json calibration = {{"protocol", describe(spec)}, {"corpus", spec.corpus}, {"sampling", spec.sampling},
                                {"n_samples", spec.n_samples}, {"seq_len", spec.seq_len}, {"seed", spec.seed},
                                {"tokens", tokens.numel()}};
  bool replaceme = options.method == "replaceme";
  nlohmann::json record = {
      {"command", "prune"}, {"date", now_iso8601()}, {"model", loaded.path}, {"output", args.out},
      {"method", options.method}, {"objective", replaceme ? nlohmann::json(options.objective) : nlohmann::json()},
      {"blocks", options.blocks}, {"num_ranges", options.num_ranges}, {"merge_consecutive", options.merge_consecutive},
      {"selection", {{"statistic", result.table_kind}, {"tokens", result.distance_tokens},
                     {"table", table_json(result, options.blocks)}}},
      {"removed", removed_text(result)}, {"removed_layers", result.removed_layers},
      {"layers_before", config.num_layers}, {"layers_after", result.model->config().num_layers},
      {"fits", fits_json(result)},
      {"transform", replaceme ? nlohmann::json{{"ridge", options.ridge}, {"epochs", options.cosine.epochs},
                                               {"lr", options.cosine.lr}, {"batch_tokens", options.cosine.batch_tokens},
                                               {"l1", options.cosine.l1}, {"l2", options.cosine.l2},
                                               {"multi_range", "sequential: each range fitted on the model with the "
                                                               "earlier ranges removed and merged"},
                                               {"last_layer_target", "pre-final-norm output of the last layer"}}
                              : nlohmann::json()},
      {"whole_model", size_json(before, after)}, {"calibration", calibration}, {"dtype", "float32"},
      {"synthetic_model", config.source_format == "synthetic"}};
  nlohmann::json info = {{"depth_pruning", {{"method", options.method}, {"removed", removed_text(result)}}}};
  write_hf_model(*result.model, out.staging_path(), info);  // "compression" appears only for compressed layers
  copy_tokenizer_files(tokenizer_file, out.staging_path());
  record["seconds"] = {{"load", load_seconds}, {"sample", sample_seconds}, {"selection", result.selection_seconds},
                       {"fit", result.fit_seconds}, {"save", seconds_since(start)},
                       {"total", seconds_since(total_start)}, {"threads", torch::get_num_threads()}};
  write_json_file((fs::path(out.staging_path()) / "lmshrink_run.json").string(), record);
  out.commit();
  if (!args.json.empty()) write_json_file(args.json, record);
  for (const RangeFit& f : result.fits) {
    std::printf("blocks %s -> T merged into model.layers.%lld.mlp.down_proj (%lld tokens): relative error %.4f "
                "(dropped: %.4f), cosine distance %.4f (dropped: %.4f)\n",
                describe(f.range).c_str(), static_cast<long long>(f.merged_into), static_cast<long long>(f.tokens),
                f.relative_error, f.relative_error_identity, f.cosine_fitted, f.cosine_identity);
  }
  std::printf("%s%s: removed blocks %s; layers %lld -> %lld, params %lld -> %lld (%.4f removed); calibration %s; "
              "wrote %s\n",
              options.method.c_str(), replaceme ? (" " + options.objective).c_str() : "", removed_text(result).c_str(),
              static_cast<long long>(config.num_layers), static_cast<long long>(result.model->config().num_layers),
              static_cast<long long>(before.total_params), static_cast<long long>(after.total_params),
              record["whole_model"]["ratio"].get<double>(), describe(spec).c_str(), args.out.c_str());
}

}  // namespace

Command add_prune(CLI::App& app) {
  auto a = std::make_shared<PruneArgs>();
  PruneOptions& o = a->options;
  CLI::App* cmd = app.add_subcommand("prune", "Remove transformer blocks (replaceme, uidl, shortgpt) and save the model");
  cmd->add_option("model", a->model, "Hugging Face directory, llama2.c .bin file, or a directory holding one")->required();
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
  cmd->add_option("--calib", a->calib, "calibration corpus: a preset (c4-train, c4-validation, wikitext2, "
                                       "tinystories, ptb) or a .jsonl / text file (default c4-train)");
  cmd->add_option("--calib-sampling", a->sampling, "blocks (default) or random-offset");
  cmd->add_option("--calib-samples", a->calib_samples, "calibration sequences (default 256)")->check(CLI::PositiveNumber);
  cmd->add_option("--calib-seq-len", a->calib_seq_len, "tokens per sequence (default min(1024, context))")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--seed", a->seed, "calibration sampling and cosine shuffling seed (default 0)");
  cmd->add_option("--batch-size", o.batch_size, "calibration sequences per block forward (default 8)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer file (default: beside the model)");
  cmd->add_option("--json", a->json, "also write the run record here");
  cmd->add_flag("--force", a->force, "replace the output directory if it exists");
  return [a] { run_with_flag_names([a] { run_prune(*a); }, kPruneFlags); };
}

}  // namespace lmshrink::cli
