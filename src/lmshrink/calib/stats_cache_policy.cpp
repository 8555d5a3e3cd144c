// Look up, or collect and save, one-shot calibration statistics (see stats_cache_policy.h).
#include "lmshrink/calib/stats_cache_policy.h"

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>

#include "lmshrink/calib/stats_cache.h"
#include "lmshrink/calib/streaming.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace fs = std::filesystem;

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

namespace {

// Streams the one-shot statistics of every block into a cache entry, one block at a time. Returns its bytes on disk.
int64_t collect_into_cache(const Transformer& model, const at::Tensor& tokens, int64_t batch_size,
                           const std::string& cache_dir, const std::string& key,
                           const std::map<std::string, std::string>& metadata) {
  torch::NoGradGuard no_grad;
  int64_t num_layers = model.config().num_layers;
  StatsCacheWriter writer(cache_dir, key, num_layers, metadata);
  BlockStreamer streamer(model, tokens, batch_size);
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    writer.add(layer + 1 < num_layers ? streamer.collect_and_advance(layer) : streamer.collect(layer));
  }
  return writer.commit();
}

}  // namespace

CachedStats load_or_collect_stats(const Transformer& model, const std::string& model_path, const at::Tensor& tokens,
                                  const CalibSpec& spec, const std::string& cache_dir, int64_t batch_size) {
  auto start = std::chrono::steady_clock::now();
  CachedStats cached;
  std::string key = cache_key(model_identity(model_path), spec);
  std::string entry = stats_cache_entry(cache_dir, key);
  std::optional<LoadedStats> loaded = load_stats(cache_dir, key);
  cached.status = "hit " + entry;
  if (!loaded) {
    collect_into_cache(model, tokens, batch_size, cache_dir, key, {{"model", model_path}, {"calib", describe(spec)}});
    loaded = load_stats(cache_dir, key);
    LMSHRINK_CHECK(loaded.has_value(), entry, ": the statistics just written cannot be read back");
    cached.status = "miss, saved " + entry;
  }
  cached.stats = std::move(loaded->blocks);
  cached.disk_bytes = loaded->bytes;
  cached.status += str_cat(" (", cached.disk_bytes, " bytes on disk)");
  cached.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return cached;
}

}  // namespace lmshrink
