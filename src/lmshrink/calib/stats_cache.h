// On-disk cache of calibration statistics (ALGORITHMS.md §8 item 1: Grams can be kept on disk).
// Layout: CACHE_DIR/<key>/stats.safetensors, key = calib/sampling.h cache_key(model, spec). Tensors
// "layers.<l>.<qkv|o|gate_up|down>.gram" and ".abs_sum" are float64 (safetensors dtype F64); the metadata holds
// "num_layers" and, per Gram, "layers.<l>.<name>.tokens" and ".skipped_batches", plus any extra
// strings the caller passes (e.g. "calib" = describe(spec), "model"). A Gram never accumulated is
// not stored and loads undefined. The key folder is written atomically (AtomicDirectory: staged,
// then renamed), so a crash never leaves a half-written cache entry.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lmshrink/calib/gram.h"

namespace lmshrink {

std::string stats_cache_path(const std::string& cache_dir, const std::string& key);  // .../<key>/stats.safetensors

// Writes (replacing any previous entry of the same key). Grams are copied to the CPU.
void save_stats(const std::string& cache_dir, const std::string& key, const std::vector<BlockStats>& stats,
                const std::map<std::string, std::string>& extra_metadata = {});

// The cached statistics of key (Grams on the CPU), or nullopt when there is no entry. A malformed
// entry throws lmshrink::Error naming the file.
std::optional<std::vector<BlockStats>> load_stats(const std::string& cache_dir, const std::string& key);

}  // namespace lmshrink
