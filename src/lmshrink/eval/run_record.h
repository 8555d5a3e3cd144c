// The run record lmshrink_run.json that compress and prune write beside their output (and report.cpp reads back):
// one schema, "record_version" 1. Shared fields: command, date, model, output, method, whole_model {params_before,
// params_after, bytes_before, bytes_after, ratio}, calibration {protocol, corpus, sampling, n_samples, seq_len, seed,
// tokens, ...}, dtype, synthetic_model, seconds {...}. compress adds mode, targets, ratio_requested,
// compressed_linears, accounting, layers and the method's settings (dictionary, rocket, masa); prune adds the
// selection table, removed blocks and the per-range fits.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "lmshrink/calib/sampling.h"
#include "lmshrink/compress/compress_options.h"
#include "lmshrink/compress/compress_result.h"
#include "lmshrink/model/inspect.h"
#include "lmshrink/prune/depth_prune.h"

namespace lmshrink {

constexpr int kRunRecordVersion = 1;

// What a record needs beyond the options and the result.
struct RunContext {
  std::string model, output;           // the source path and the output directory
  bool synthetic_model = false;
  ModelSummary before, after;          // summarize_model before and after
  nlohmann::json calibration;          // calibration_record(spec), or null without calibration
  int64_t calibration_tokens = 0;      // tokens of the calibration sample
  std::string stats_cache = "off";     // CachedStats::status, or "off"
  std::string dtype = "float32";       // the float dtype written
  int64_t input_file_bytes = 0, output_file_bytes = 0;  // checkpoint files on disk (0: not measured)
  int64_t peak_rss_bytes = 0;          // the process's peak resident memory at the end of the run
  double load_seconds = 0.0, sample_seconds = 0.0, cache_seconds = 0.0, save_seconds = 0.0, total_seconds = 0.0;
};

// {"protocol", "corpus", "sampling", "n_samples", "seq_len", "seed"} of a calibration sample.
std::string now_iso8601();  // the "date" of every record: UTC, e.g. 2026-12-06T14:44:10Z
nlohmann::json calibration_record(const CalibSpec& spec);

// The "compression" section of the saved config.json: method, ratio, mode, targets, calibration, source and the
// method's settings. profile: the given rocket profile's path, or "" when the run computed it.
nlohmann::json compression_info(const CompressOptions& options, const CompressResult& result, const RunContext& run,
                                const std::string& profile);
nlohmann::json compress_record(const CompressOptions& options, const CompressResult& result, const RunContext& run,
                               const std::string& profile);
// The printed summary of a compress record (several lines).
std::string compress_summary(const nlohmann::json& record);

nlohmann::json prune_record(const PruneOptions& options, const PruneResult& result, const RunContext& run,
                            int64_t layers_before);
std::string removed_blocks_text(const PruneResult& result);  // "2-3,5": the removed ranges
// The printed selection table of a prune run: block influence per layer, or angular distance per window.
std::string selection_table_text(const PruneResult& result, int64_t blocks);

}  // namespace lmshrink
