// Calibration statistics cache: one safetensors file of float64 Grams per block, counts in its metadata (see
// stats_cache.h).
#include "lmshrink/calib/stats_cache.h"

#include <cstdio>
#include <filesystem>

#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/safetensors.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/parse_int.h"

namespace lmshrink {

namespace {

namespace fs = std::filesystem;

constexpr LinearInput kInputs[] = {LinearInput::kQkv, LinearInput::kO, LinearInput::kGateUp, LinearInput::kDown};

std::string block_file(const std::string& dir, int64_t layer) {
  char name[32];
  std::snprintf(name, sizeof(name), "block-%05lld.safetensors", static_cast<long long>(layer));
  return (fs::path(dir) / name).string();
}

int64_t parse_count(const std::map<std::string, std::string>& metadata, const std::string& name,
                    const std::string& path) {
  auto it = metadata.find(name);
  LMSHRINK_CHECK(it != metadata.end(), path, ": metadata entry ", name, " is missing");
  return parse_int(it->second, str_cat(path, ": metadata ", name), 0);
}

at::Tensor f64_tensor(const SafetensorsFile& file, const std::string& name, const std::string& path) {
  at::Tensor t = file.tensor(name);
  LMSHRINK_CHECK(t.scalar_type() == torch::kFloat64, path, ": ", name, ": expected F64");
  return t;  // zero-copy view of the (copy-on-write) mapping, which it keeps alive
}

// One block file: its Grams (views of the mapping) and counts, checked against the expected layer and depth.
BlockStats load_block(const std::string& path, int64_t layer, int64_t num_layers) {
  SafetensorsFile file(path);
  LMSHRINK_CHECK(parse_count(file.metadata(), "layer", path) == layer, path, ": metadata layer is not ", layer);
  LMSHRINK_CHECK(parse_count(file.metadata(), "num_layers", path) == num_layers, path,
                 ": metadata num_layers differs from block 0's ", num_layers);
  BlockStats block;
  for (LinearInput input : kInputs) {
    LayerStats& s = block.of(input);
    std::string name = linear_input_name(input);
    s.tokens = parse_count(file.metadata(), name + ".tokens", path);
    s.skipped_batches = parse_count(file.metadata(), name + ".skipped_batches", path);
    if (!file.contains(name + ".gram")) continue;
    s.gram = f64_tensor(file, name + ".gram", path);
    LMSHRINK_CHECK(s.gram.dim() == 2 && s.gram.size(0) == s.gram.size(1), path, ": ", name, ".gram: expected a square matrix");
    LMSHRINK_CHECK(file.contains(name + ".abs_sum"), path, ": ", name, ".abs_sum is missing");
    s.abs_sum = f64_tensor(file, name + ".abs_sum", path);
    LMSHRINK_CHECK(s.abs_sum.dim() == 1 && s.abs_sum.size(0) == s.gram.size(0), path, ": ", name,
                   ".abs_sum: expected a vector of ", s.gram.size(0));
  }
  return block;
}

}  // namespace

std::string stats_cache_entry(const std::string& cache_dir, const std::string& key) {
  return (fs::path(cache_dir) / key).string();
}

StatsCacheWriter::StatsCacheWriter(const std::string& cache_dir, const std::string& key, int64_t num_layers,
                                   std::map<std::string, std::string> extra_metadata)
    : num_layers_(num_layers), metadata_(std::move(extra_metadata)) {
  LMSHRINK_CHECK(!key.empty() && key.find('/') == std::string::npos, "stats cache: bad key '", key, "'");
  LMSHRINK_CHECK(num_layers > 0, "stats cache: no blocks to save");
  fs::create_directories(cache_dir);
  dir_ = std::make_unique<AtomicDirectory>(stats_cache_entry(cache_dir, key), /*overwrite=*/true);
  metadata_["num_layers"] = std::to_string(num_layers);
}

StatsCacheWriter::~StatsCacheWriter() = default;

void StatsCacheWriter::add(const BlockStats& block) {
  LMSHRINK_CHECK(next_layer_ < num_layers_, "stats cache: more than ", num_layers_, " blocks added");
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::map<std::string, std::string> metadata = metadata_;
  metadata["layer"] = std::to_string(next_layer_);
  for (LinearInput input : kInputs) {
    const LayerStats& s = block.of(input);
    std::string name = linear_input_name(input);
    if (s.gram.defined()) {
      tensors.emplace_back(name + ".gram", s.gram.to(torch::kCPU, torch::kFloat64).contiguous());
      tensors.emplace_back(name + ".abs_sum", s.abs_sum.to(torch::kCPU, torch::kFloat64).contiguous());
    }
    metadata[name + ".tokens"] = std::to_string(s.tokens);
    metadata[name + ".skipped_batches"] = std::to_string(s.skipped_batches);
  }
  std::string path = block_file(dir_->staging_path(), next_layer_);
  write_safetensors(path, tensors, metadata);
  bytes_ += static_cast<int64_t>(fs::file_size(path));
  ++next_layer_;
}

int64_t StatsCacheWriter::commit() {
  LMSHRINK_CHECK(next_layer_ == num_layers_, "stats cache: ", next_layer_, " of ", num_layers_, " blocks added");
  dir_->commit();
  return bytes_;
}

int64_t save_stats(const std::string& cache_dir, const std::string& key, const std::vector<BlockStats>& stats,
                   const std::map<std::string, std::string>& extra_metadata) {
  StatsCacheWriter writer(cache_dir, key, static_cast<int64_t>(stats.size()), extra_metadata);
  for (const BlockStats& block : stats) writer.add(block);
  return writer.commit();
}

std::optional<LoadedStats> load_stats(const std::string& cache_dir, const std::string& key) {
  std::string dir = stats_cache_entry(cache_dir, key);
  std::string first = block_file(dir, 0);
  if (!fs::exists(first)) return std::nullopt;
  int64_t num_layers = parse_count(SafetensorsFile(first).metadata(), "num_layers", first);
  LMSHRINK_CHECK(num_layers > 0, first, ": metadata num_layers is 0");
  LoadedStats loaded;
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    std::string path = block_file(dir, layer);
    LMSHRINK_CHECK(fs::exists(path), path, " is missing (the cache entry ", dir, " has ", num_layers, " blocks)");
    loaded.blocks.push_back(load_block(path, layer, num_layers));
    loaded.bytes += static_cast<int64_t>(fs::file_size(path));
  }
  return loaded;
}

}  // namespace lmshrink
