// Calibration statistics cache: float64 Grams in safetensors, counts in its metadata (see stats_cache.h).
#include "lmshrink/calib/stats_cache.h"

#include <filesystem>

#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/safetensors.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/parse_int.h"

namespace lmshrink {

namespace {

constexpr LinearInput kInputs[] = {LinearInput::kQkv, LinearInput::kO, LinearInput::kGateUp, LinearInput::kDown};
constexpr const char* kFileName = "stats.safetensors";

std::string prefix(size_t layer, LinearInput input) {
  return str_cat("layers.", layer, ".", linear_input_name(input));
}

int64_t parse_count(const std::map<std::string, std::string>& metadata, const std::string& name,
                    const std::string& path) {
  auto it = metadata.find(name);
  LMSHRINK_CHECK(it != metadata.end(), path, ": metadata entry ", name, " is missing");
  return parse_int(it->second, str_cat(path, ": metadata ", name), 0);
}

}  // namespace

std::string stats_cache_path(const std::string& cache_dir, const std::string& key) {
  return (std::filesystem::path(cache_dir) / key / kFileName).string();
}

void save_stats(const std::string& cache_dir, const std::string& key, const std::vector<BlockStats>& stats,
                const std::map<std::string, std::string>& extra_metadata) {
  LMSHRINK_CHECK(!key.empty() && key.find('/') == std::string::npos, "stats cache: bad key '", key, "'");
  std::filesystem::create_directories(cache_dir);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::map<std::string, std::string> metadata = extra_metadata;
  metadata["num_layers"] = std::to_string(stats.size());
  for (size_t layer = 0; layer < stats.size(); ++layer) {
    for (LinearInput input : kInputs) {
      const LayerStats& s = stats[layer].of(input);
      std::string name = prefix(layer, input);
      if (s.gram.defined()) {
        tensors.emplace_back(name + ".gram", s.gram.to(torch::kCPU, torch::kFloat64).contiguous());
        tensors.emplace_back(name + ".abs_sum", s.abs_sum.to(torch::kCPU, torch::kFloat64).contiguous());
      }
      metadata[name + ".tokens"] = std::to_string(s.tokens);
      metadata[name + ".skipped_batches"] = std::to_string(s.skipped_batches);
    }
  }
  AtomicDirectory dir((std::filesystem::path(cache_dir) / key).string(), /*overwrite=*/true);
  write_safetensors((std::filesystem::path(dir.staging_path()) / kFileName).string(), tensors, metadata);
  dir.commit();
}

std::optional<std::vector<BlockStats>> load_stats(const std::string& cache_dir, const std::string& key) {
  std::string path = stats_cache_path(cache_dir, key);
  if (!std::filesystem::exists(path)) return std::nullopt;
  SafetensorsFile file(path);
  int64_t num_layers = parse_count(file.metadata(), "num_layers", path);
  std::vector<BlockStats> stats(num_layers);
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    for (LinearInput input : kInputs) {
      LayerStats& s = stats[layer].of(input);
      std::string name = prefix(layer, input);
      s.tokens = parse_count(file.metadata(), name + ".tokens", path);
      s.skipped_batches = parse_count(file.metadata(), name + ".skipped_batches", path);
      if (file.contains(name + ".gram")) {
        at::Tensor gram = file.tensor(name + ".gram");
        LMSHRINK_CHECK(gram.scalar_type() == torch::kFloat64 && gram.dim() == 2 && gram.size(0) == gram.size(1), path,
                       ": ", name, ".gram: expected a square F64 matrix");
        s.gram = gram;  // zero-copy view of the (copy-on-write) mapping, which it keeps alive
        LMSHRINK_CHECK(file.contains(name + ".abs_sum"), path, ": ", name,
                       ".abs_sum is missing (an entry from an older lmshrink: delete it)");
        at::Tensor abs_sum = file.tensor(name + ".abs_sum");
        LMSHRINK_CHECK(abs_sum.scalar_type() == torch::kFloat64 && abs_sum.dim() == 1 && abs_sum.size(0) == gram.size(0),
                       path, ": ", name, ".abs_sum: expected an F64 vector of ", gram.size(0));
        s.abs_sum = abs_sum;
      }
    }
  }
  return stats;
}

}  // namespace lmshrink
