// The statistics-cache policy of the commands that calibrate (compress, profile): one-shot statistics are looked up
// under cache_key(model identity, calibration spec) in a cache folder (stats_cache.h), and collected and saved there
// on a miss. The model identity is its canonical path with the size and mtime of every weight file, so editing a
// model invalidates its entries.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lmshrink/calib/gram.h"
#include "lmshrink/calib/sampling.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

// Identity of the model files: canonical path, and "|file:size:mtime" of the file or of each .safetensors file.
std::string model_identity(const std::string& path);

struct CachedStats {
  std::vector<BlockStats> stats;  // one-shot statistics of every block (views of the mapped cache files)
  std::string status;             // "hit <entry> (<bytes> bytes on disk)" or "miss, saved <entry> (<bytes> bytes on disk)"
  double seconds = 0.0;           // load, or collection and save
  int64_t disk_bytes = 0;         // the entry's bytes on disk
};

// The cached one-shot statistics of (model_path, spec) in cache_dir, or, on a miss, the one-shot statistics collected
// block by block over tokens [n, seq] (batch_size sequences per block forward) and written to the cache as each block
// finishes (one block's Grams in memory at a time), then read back from there.
CachedStats load_or_collect_stats(const Transformer& model, const std::string& model_path, const at::Tensor& tokens,
                                  const CalibSpec& spec, const std::string& cache_dir, int64_t batch_size);

}  // namespace lmshrink
