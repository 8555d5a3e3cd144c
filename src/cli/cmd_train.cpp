// lmshrink train --config CONFIG.json --corpus C -o OUT: trains a small Llama-style model from scratch with dense, GQA,
// low-rank or MASA attention (train/train_model.h, train/trainer.h), shows a progress bar with loss and tokens/s, and
// writes OUT atomically: a model directory any lmshrink command reads (MASA coefficients collapsed to a plain matrix,
// atoms stored once), the tokenizer, and the run record lmshrink_run.json (config, parameters, losses, validation
// perplexity). A checkpoint (OUT.ckpt unless --checkpoint) is kept every checkpoint_every steps; --resume continues it.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "lmshrink/calib/corpus.h"
#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/tokenizer/load.h"
#include "lmshrink/train/trainer.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink::cli {

namespace {

namespace fs = std::filesystem;

struct TrainArgs {
  std::string config, corpus, valid, tokenizer, out, checkpoint, json;
  int64_t steps = 0;
  int64_t seed = -1;
  bool resume = false, force = false;
};

std::string default_tokenizer() {
  return (fs::path(default_calib_data_dir()).parent_path() / "models" / "stories260K" / "tok512.bin").string();
}

nlohmann::json run_record(const TrainArgs& args, const TrainConfig& config, const TrainableModel& trainable,
                          const TrainResult& result, int64_t train_windows, int64_t valid_windows) {
  const Transformer& model = *trainable.model;
  int64_t attention = attention_params(model), total = model_params(model);
  return {{"command", "train"}, {"date", now_iso8601()}, {"output", args.out}, {"config", train_config_json(config)},
          {"corpus", args.corpus}, {"valid", args.valid.empty() ? "held-out tail of the corpus" : args.valid},
          {"tokenizer", args.tokenizer}, {"train_windows", train_windows}, {"valid_windows", valid_windows},
          {"attention_params", attention}, {"total_params", total}, {"non_attention_params", total - attention},
          {"masa_atoms", config.attention.rfind("masa", 0) == 0 ? train_masa_atoms(config) : 0},
          {"first_step", result.first_step}, {"steps", result.steps}, {"tokens", result.tokens},
          {"losses", result.losses}, {"valid_ppl", result.valid_ppl},
          {"final_valid_ppl", result.valid_ppl.empty() ? -1.0 : result.valid_ppl.back().second},
          {"seconds", result.seconds}, {"tokens_per_second", result.tokens / std::max(result.seconds, 1e-9)},
          {"threads", torch::get_num_threads()}};
}

void run_train(TrainArgs args) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_text_file(args.config, "--config"));
  } catch (const nlohmann::json::exception& e) {
    fail(args.config, ": not valid JSON (", e.what(), ")");
  }
  TrainConfig config = parse_train_config(json, args.config);
  if (args.steps > 0) config.steps = args.steps;
  if (args.seed >= 0) config.seed = static_cast<uint64_t>(args.seed);
  if (args.tokenizer.empty()) args.tokenizer = default_tokenizer();
  if (args.checkpoint.empty()) args.checkpoint = args.out + ".ckpt";
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer_file(args.tokenizer);
  at::Tensor windows = token_windows(read_corpus(args.corpus), *tokenizer, config.seq_len, "--corpus " + args.corpus);
  at::Tensor valid;
  if (args.valid.empty()) {  // hold out the corpus's last eval_windows windows
    LMSHRINK_CHECK(windows.size(0) > config.eval_windows, "--corpus ", args.corpus, ": ", windows.size(0), " windows of ",
                   config.seq_len, " tokens cannot spare ", config.eval_windows, " for validation (give --valid)");
    valid = windows.narrow(0, windows.size(0) - config.eval_windows, config.eval_windows);
    windows = windows.narrow(0, 0, windows.size(0) - config.eval_windows);
  } else {
    valid = token_windows(read_corpus(args.valid), *tokenizer, config.seq_len, "--valid " + args.valid);
    valid = valid.narrow(0, 0, std::min(valid.size(0), config.eval_windows));
  }
  LMSHRINK_CHECK(windows.size(0) >= config.batch_size, "--corpus ", args.corpus, ": ", windows.size(0), " windows of ",
                 config.seq_len, " tokens, fewer than one batch of ", config.batch_size);
  AtomicDirectory out(args.out, args.force);
  check_record_file(args.json);
  TrainableModel trainable = build_trainable_model(config, tokenizer->vocab_size());
  Progress progress("train " + config.attention, config.steps);
  TrainResult result = train_model(trainable, config, windows, valid, args.checkpoint, args.resume, [&](const TrainStep& s) {
    char note[64];
    std::snprintf(note, sizeof(note), "loss %.4f, %.0f tok/s", s.loss, s.tokens_per_second);
    progress.set_note(note);
    progress.advance();
  });
  progress.finish();
  trainable.collapse();
  nlohmann::json info = {{"method", "train"}, {"attention", config.attention}, {"train", train_config_json(config)}};
  write_hf_model(*trainable.model, out.staging_path(), info);
  copy_tokenizer_files(args.tokenizer, out.staging_path());
  nlohmann::json record = run_record(args, config, trainable, result, windows.size(0), valid.size(0));
  write_json_file((fs::path(out.staging_path()) / "lmshrink_run.json").string(), record);
  out.commit();
  if (!args.json.empty()) write_json_file(args.json, record);
  std::printf("trained %s: %lld steps (%lld tokens, %.0f tok/s), loss %.4f; valid ppl %.4f; attention params %lld of %lld; "
              "wrote %s\n", config.attention.c_str(), static_cast<long long>(result.steps),
              static_cast<long long>(result.tokens), record["tokens_per_second"].get<double>(),
              result.losses.empty() ? 0.0 : result.losses.back(), record["final_valid_ppl"].get<double>(),
              record["attention_params"].get<long long>(), record["total_params"].get<long long>(), args.out.c_str());
}

}  // namespace

Command add_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Train a small model from scratch (dense, gqa, lowrank, masa-qkv, masa-qkvo attention)");
  cmd->add_option("--config", a->config, "training config JSON (architecture, attention variant, optimisation)")->required();
  cmd->add_option("--corpus", a->corpus, "training text: a preset (tinystories, ...) or a file")->required();
  cmd->add_option("-o,--out", a->out, "output model directory (written atomically; must not exist unless --force)")->required();
  cmd->add_option("--valid", a->valid, "validation text (default: the corpus's last eval_windows windows, held out)");
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer file (default ../shared/models/stories260K/tok512.bin)");
  cmd->add_option("--steps", a->steps, "override the config's steps")->check(at_least(1));
  cmd->add_option("--seed", a->seed, "override the config's seed")->check(at_least(0));
  cmd->add_option("--checkpoint", a->checkpoint, "checkpoint file (default OUT.ckpt), saved every checkpoint_every steps and at the end");
  cmd->add_flag("--resume", a->resume, "continue from the checkpoint (same config)");
  cmd->add_option("--json", a->json, "also write the run record here");
  cmd->add_flag("--force", a->force, "replace the output directory if it exists");
  return [a] { run_train(*a); };
}

}  // namespace lmshrink::cli
