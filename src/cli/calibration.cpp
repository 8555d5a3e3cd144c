// Calibration flags and data for the CLI commands (see calibration.h).
#include "cli/calibration.h"

#include <chrono>

#include "cli/commands.h"
#include "lmshrink/util/stopwatch.h"
#include "lmshrink/calib/corpus.h"
#include "lmshrink/calib/stats_cache_policy.h"
#include "lmshrink/eval/run_record.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

using Clock = std::chrono::steady_clock;


}  // namespace

void add_calibration_flags(CLI::App& cmd, CalibArgs& a) {
  cmd.add_option("--calib", a.corpus, "calibration corpus: a preset (c4-train, c4-validation, wikitext2, "
                                      "tinystories, ptb) or a .jsonl / text file (default c4-train)");
  cmd.add_option("--calib-sampling", a.sampling, "blocks (default; ROCKET) or random-offset (SVD-LLM)");
  cmd.add_option("--calib-samples", a.samples, "calibration sequences (default 256)")->check(at_least(1));
  cmd.add_option("--calib-seq-len", a.seq_len, "tokens per sequence (default min(1024, context))")->check(at_least(1));
  cmd.add_option("--seed", a.seed, "calibration sampling seed (default 0)")->check(at_least(0));
  cmd.add_option("--batch-size", a.batch_size, "calibration sequences per block forward (default 8)")
      ->check(at_least(1));
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
  CachedStats cached = load_or_collect_stats(*loaded.model, loaded.path, c.tokens, c.spec, args.stats_cache, args.batch_size);
  c.cached = std::move(cached.stats);
  c.cache_status = cached.status;
  c.cache_seconds = cached.seconds;
  return c;
}

nlohmann::json calibration_json(const Calibration& calib) { return calibration_record(calib.spec); }

}  // namespace lmshrink::cli
