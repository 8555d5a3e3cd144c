// Calibration flags and data shared by the commands that need calibration statistics (compress, profile): the
// corpus and its sampling (calib/sampling.h), and the one-shot statistics cache (calib/stats_cache_policy.h).
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmshrink/calib/gram.h"
#include "lmshrink/calib/sampling.h"
#include "lmshrink/io/model_loader.h"

namespace lmshrink::cli {

struct CalibArgs {
  std::string corpus = "c4-train", sampling = "blocks", stats_cache;
  int64_t samples = 256, seq_len = 0, batch_size = 8;
  uint64_t seed = 0;
};

// --calib, --calib-sampling, --calib-samples, --calib-seq-len, --seed, --batch-size, --stats-cache.
void add_calibration_flags(CLI::App& cmd, CalibArgs& args);

struct Calibration {
  CalibSpec spec;
  at::Tensor tokens;               // [n, seq] int64
  std::vector<BlockStats> cached;  // one-shot statistics from (or for) --stats-cache; empty without it
  std::string cache_status = "off";
  double sample_seconds = 0.0, cache_seconds = 0.0;
};

// Samples the corpus and, with --stats-cache, loads or computes and saves the one-shot statistics.
// one_shot: false refuses --stats-cache (sequential statistics depend on the compressed blocks).
Calibration prepare_calibration(const CalibArgs& args, const LoadedModel& loaded, const Tokenizer& tokenizer, bool one_shot);

// {"protocol", "corpus", "sampling", "n_samples", "seq_len", "seed"}.
nlohmann::json calibration_json(const Calibration& calib);

}  // namespace lmshrink::cli
