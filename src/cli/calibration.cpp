// Calibration flags and data for the CLI commands (see calibration.h).
#include "cli/calibration.h"

#include <chrono>
#include <filesystem>

#include "lmshrink/calib/corpus.h"
#include "lmshrink/calib/stats_cache.h"
#include "lmshrink/calib/streaming.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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

}  // namespace

void add_calibration_flags(CLI::App& cmd, CalibArgs& a) {
  cmd.add_option("--calib", a.corpus, "calibration corpus: a preset (c4-train, c4-validation, wikitext2, "
                                      "tinystories, ptb) or a .jsonl / text file (default c4-train)");
  cmd.add_option("--calib-sampling", a.sampling, "blocks (default; ROCKET) or random-offset (SVD-LLM)");
  cmd.add_option("--calib-samples", a.samples, "calibration sequences (default 256)")->check(CLI::PositiveNumber);
  cmd.add_option("--calib-seq-len", a.seq_len, "tokens per sequence (default min(1024, context))")->check(CLI::PositiveNumber);
  cmd.add_option("--seed", a.seed, "calibration sampling seed (default 0)");
  cmd.add_option("--batch-size", a.batch_size, "calibration sequences per block forward (default 8)")
      ->check(CLI::PositiveNumber);
  cmd.add_option("--stats-cache", a.stats_cache, "folder caching one-shot calibration statistics across runs");
}

Calibration prepare_calibration(const CalibArgs& args, const LoadedModel& loaded, const Tokenizer& tokenizer, bool one_shot) {
  Calibration c;
  const ModelConfig& config = loaded.model->config();
  c.spec = CalibSpec{args.corpus, args.sampling, args.samples,
                     args.seq_len > 0 ? args.seq_len : std::min<int64_t>(1024, config.max_position_embeddings), args.seed};
  LMSHRINK_CHECK(c.spec.seq_len <= config.max_position_embeddings, "--calib-seq-len ", c.spec.seq_len,
                 " exceeds the model context of ", config.max_position_embeddings);
  Clock::time_point start = Clock::now();
  c.tokens = sample_calibration(read_corpus(args.corpus), tokenizer, c.spec);
  c.sample_seconds = seconds_since(start);
  if (args.stats_cache.empty()) return c;
  LMSHRINK_CHECK(one_shot, "--stats-cache: statistics of --mode sequential depend on the "
                 "compressed blocks and cannot be cached; use --mode one-shot");
  start = Clock::now();
  std::string key = cache_key(model_identity(loaded.path), c.spec);
  if (auto stats = load_stats(args.stats_cache, key)) {
    c.cached = std::move(*stats);
    c.cache_status = "hit " + stats_cache_path(args.stats_cache, key);
  } else {
    c.cached = collect_all_one_shot(*loaded.model, c.tokens, args.batch_size);
    save_stats(args.stats_cache, key, c.cached, {{"model", loaded.path}, {"calib", describe(c.spec)}});
    c.cache_status = "miss, saved " + stats_cache_path(args.stats_cache, key);
  }
  c.cache_seconds = seconds_since(start);
  return c;
}

nlohmann::json calibration_json(const Calibration& calib) {
  return {{"protocol", describe(calib.spec)}, {"corpus", calib.spec.corpus}, {"sampling", calib.spec.sampling},
          {"n_samples", calib.spec.n_samples}, {"seq_len", calib.spec.seq_len}, {"seed", calib.spec.seed}};
}

}  // namespace lmshrink::cli
