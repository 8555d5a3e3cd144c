// lmshrink heal MODEL -o OUT --corpus FILE --tokens N: a short fine-tune of a compressed model's factors
// (compress/heal.h), sparsity patterns fixed and everything else frozen, written atomically as a compressed
// model directory with the run record (losses, perplexity before and after) in OUT/lmshrink_run.json.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "lmshrink/calib/corpus.h"
#include "lmshrink/calib/sampling.h"
#include "lmshrink/compress/heal.h"
#include "lmshrink/eval/perplexity.h"
#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct HealArgs {
  std::string model, tokenizer, out, corpus, ppl_file, json;
  int64_t tokens = 0, seq_len = 0, ppl_seq_len = 0;
  bool force = false;
  CheckpointArgs checkpoint;
  HealOptions heal;
};

// The compression section of the source's config.json without its per-layer entries (rewritten on save).
nlohmann::json source_compression(const LoadedModel& loaded) {
  fs::path config = fs::path(loaded.path) / "config.json";
  if (!fs::is_directory(loaded.path) || !fs::exists(config)) return nlohmann::json::object();
  nlohmann::json json = nlohmann::json::parse(read_text_file(config.string(), "config.json"));
  nlohmann::json info = json.value("compression", nlohmann::json::object());
  info.erase("layers");
  info.erase("format_version");
  return info;
}

double ppl_of(const Transformer& model, const Tokenizer& tokenizer, const std::string& text, int64_t seq_len) {
  return perplexity(model, tokenizer.encode(text, true, false), PplProtocol::kGptq, seq_len).ppl;
}

void run_heal(const HealArgs& args) {
  Clock::time_point start = Clock::now();
  LMSHRINK_CHECK(args.tokens > 0, "--tokens: the training token budget must be positive");
  LoadedModel loaded = load_model(args.model);
  const ModelConfig& config = loaded.model->config();
  int64_t trainable = 0;
  for (const at::Tensor& f : healable_factors(*loaded.model)) trainable += f.numel();  // fails early on a dense model
  std::string tokenizer_file = find_tokenizer_path(args.tokenizer, loaded);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(args.tokenizer, loaded);
  int64_t seq_len = args.seq_len > 0 ? args.seq_len : std::min<int64_t>(256, config.max_position_embeddings);
  int64_t ppl_seq_len = args.ppl_seq_len > 0 ? args.ppl_seq_len : std::min<int64_t>(512, config.max_position_embeddings);
  LMSHRINK_CHECK(seq_len <= config.max_position_embeddings && ppl_seq_len <= config.max_position_embeddings,
                 "--seq-len/--ppl-seq-len exceed the model context of ", config.max_position_embeddings);
  std::string ppl_text = args.ppl_file.empty() ? "" : read_text_file(args.ppl_file, "--ppl");
  AtomicDirectory out(args.out, args.force);
  check_record_file(args.json);
  int64_t windows_needed = (args.tokens + seq_len - 1) / seq_len;
  CalibSpec spec{args.corpus, "blocks", windows_needed, seq_len, args.heal.seed};
  at::Tensor windows = sample_calibration(read_corpus(args.corpus), *tokenizer, spec);
  int64_t steps = (windows.size(0) + args.heal.batch_size - 1) / args.heal.batch_size;

  double ppl_before = ppl_text.empty() ? -1.0 : ppl_of(*loaded.model, *tokenizer, ppl_text, ppl_seq_len);
  Progress progress("heal", steps);
  HealResult result = heal_model(*loaded.model, windows, steps, args.heal, [&](int64_t, double loss) {
    char note[32];
    std::snprintf(note, sizeof(note), "loss %.4f", loss);
    progress.set_note(note);
    progress.advance();
  });
  progress.finish();
  double ppl_after = ppl_text.empty() ? -1.0 : ppl_of(*loaded.model, *tokenizer, ppl_text, ppl_seq_len);

  nlohmann::json healing = {{"corpus", args.corpus}, {"protocol", describe(spec)}, {"tokens", result.tokens},
                            {"steps", result.steps}, {"seq_len", seq_len}, {"batch_size", args.heal.batch_size},
                            {"lr", args.heal.lr}, {"weight_decay", args.heal.weight_decay},
                            {"warmup_fraction", args.heal.warmup_fraction}, {"clip_norm", args.heal.clip_norm},
                            {"seed", args.heal.seed}, {"trainable_values", trainable}, {"source", loaded.path}};
  nlohmann::json info = source_compression(loaded);
  info["healing"] = healing;
  write_hf_model(*loaded.model, out.staging_path(), info, checkpoint_format(args.checkpoint));
  copy_tokenizer_files(tokenizer_file, out.staging_path());
  nlohmann::json record = {{"command", "heal"}, {"date", now_iso8601()}, {"model", loaded.path}, {"output", args.out},
                           {"healing", healing}, {"losses", result.losses},
                           {"ppl", {{"file", args.ppl_file}, {"protocol", "gptq"}, {"seq_len", ppl_seq_len},
                                    {"before", ppl_before}, {"after", ppl_after}}},
                           {"seconds", std::chrono::duration<double>(Clock::now() - start).count()}};
  write_json_file((fs::path(out.staging_path()) / "lmshrink_run.json").string(), record);
  out.commit();
  if (!args.json.empty()) write_json_file(args.json, record);
  double first = result.losses.front(), last = result.losses.back();
  std::printf("healed %lld values over %lld steps (%lld tokens): loss %.4f -> %.4f", static_cast<long long>(trainable),
              static_cast<long long>(result.steps), static_cast<long long>(result.tokens), first, last);
  if (ppl_before > 0) std::printf("; ppl %.4f -> %.4f (gptq, seq %lld)", ppl_before, ppl_after, static_cast<long long>(ppl_seq_len));
  std::printf("; wrote %s\n", args.out.c_str());
}

}  // namespace

Command add_heal(CLI::App& app) {
  auto a = std::make_shared<HealArgs>();
  CLI::App* cmd = app.add_subcommand("heal", "Fine-tune a compressed model's factors (sparsity fixed, the rest frozen)");
  cmd->add_option("model", a->model, "compressed model directory (lmshrink compress output)")->required();
  cmd->add_option("-o,--out", a->out, "output directory (written atomically; must not exist unless --force)")->required();
  cmd->add_option("--corpus", a->corpus, "training text: a preset (c4-train, wikitext2, tinystories, ...) or a file")->required();
  cmd->add_option("--tokens", a->tokens, "training tokens (windows of --seq-len, one pass)")->required();
  cmd->add_option("--seq-len", a->seq_len, "tokens per training window (default min(256, context))")->check(at_least(1));
  cmd->add_option("--batch-size", a->heal.batch_size, "windows per step (default 8)")->check(at_least(1));
  cmd->add_option("--lr", a->heal.lr, "peak AdamW learning rate relative to each factor's RMS (default 1e-3)");
  cmd->add_option("--weight-decay", a->heal.weight_decay, "AdamW weight decay (default 0)");
  cmd->add_option("--warmup", a->heal.warmup_fraction, "fraction of steps of linear warm-up (default 0.05)");
  cmd->add_option("--clip", a->heal.clip_norm, "gradient-norm clipping, <= 0 for none (default 1)");
  cmd->add_option("--seed", a->heal.seed, "window sampling and order seed (default 0)")->check(at_least(0));
  cmd->add_option("--ppl", a->ppl_file, "text file whose perplexity (gptq) is measured before and after");
  cmd->add_option("--ppl-seq-len", a->ppl_seq_len, "window of the --ppl measurement (default min(512, context))")
      ->check(at_least(1));
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer file (default: beside the model)");
  cmd->add_option("--json", a->json, "also write the run record here");
  add_checkpoint_flags(*cmd, a->checkpoint);
  cmd->add_flag("--force", a->force, "replace the output directory if it exists");
  return [a] { run_heal(*a); };
}

}  // namespace lmshrink::cli
