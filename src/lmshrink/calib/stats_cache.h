// On-disk cache of calibration statistics (ALGORITHMS.md §8 item 1: Grams can be kept on disk), one file per block so
// that neither writing nor reading an entry ever holds more than one block's Grams (DESIGN.md "Scale").
// Layout: CACHE_DIR/<key>/block-<l>.safetensors for l = 0 .. num_layers − 1, key = calib/sampling.h cache_key(model,
// spec). Tensors "<qkv|o|gate_up|down>.gram" and ".abs_sum" are float64 (safetensors dtype F64); the metadata holds
// "layer", "num_layers" and, per Gram, "<name>.tokens" and ".skipped_batches", plus any extra strings the caller passes
// (e.g. "calib" = describe(spec), "model"). A Gram never accumulated is not stored and loads undefined. The key folder
// is written atomically (AtomicDirectory: staged, then renamed), so a crash never leaves a half-written entry; a folder
// without block files (the single stats.safetensors of lmshrink before per-block files) is a miss, and is replaced.
// Loaded Grams are zero-copy views of the memory-mapped files: their pages are read as a block is used and dropped by
// release_mapped_pages (io/mapped_pages.h) when the pipeline moves on.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lmshrink/calib/gram.h"

namespace lmshrink {

class AtomicDirectory;

std::string stats_cache_entry(const std::string& cache_dir, const std::string& key);  // CACHE_DIR/<key>

// Writes an entry block by block (replacing any previous entry of the same key when committed). Grams are copied to
// the CPU as each block is added; nothing is kept in memory after add returns.
class StatsCacheWriter {
 public:
  StatsCacheWriter(const std::string& cache_dir, const std::string& key, int64_t num_layers,
                   std::map<std::string, std::string> extra_metadata = {});
  ~StatsCacheWriter();
  StatsCacheWriter(const StatsCacheWriter&) = delete;
  StatsCacheWriter& operator=(const StatsCacheWriter&) = delete;
  void add(const BlockStats& block);  // the next block's statistics, in block order
  int64_t commit();                   // every block added: publishes the entry; returns its bytes on disk

 private:
  std::unique_ptr<AtomicDirectory> dir_;
  int64_t num_layers_;
  int64_t next_layer_ = 0;
  int64_t bytes_ = 0;
  std::map<std::string, std::string> metadata_;
};

// Writes every block at once (a StatsCacheWriter fed in order). Returns the bytes on disk.
int64_t save_stats(const std::string& cache_dir, const std::string& key, const std::vector<BlockStats>& stats,
                   const std::map<std::string, std::string>& extra_metadata = {});

struct LoadedStats {
  std::vector<BlockStats> blocks;  // Grams: views of the mapped block files
  int64_t bytes = 0;               // the entry's bytes on disk
};

// The cached statistics of key, or nullopt when there is no entry. A malformed entry throws lmshrink::Error naming
// the file.
std::optional<LoadedStats> load_stats(const std::string& cache_dir, const std::string& key);

}  // namespace lmshrink
