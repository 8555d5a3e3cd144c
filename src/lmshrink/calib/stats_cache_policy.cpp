// Look up, or collect and save, one-shot calibration statistics (see stats_cache_policy.h).
#include "lmshrink/calib/stats_cache_policy.h"

#include <chrono>
#include <filesystem>

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

CachedStats load_or_collect_stats(const Transformer& model, const std::string& model_path, const at::Tensor& tokens,
                                  const CalibSpec& spec, const std::string& cache_dir, int64_t batch_size) {
  auto start = std::chrono::steady_clock::now();
  CachedStats cached;
  std::string key = cache_key(model_identity(model_path), spec);
  if (auto stats = load_stats(cache_dir, key)) {
    cached.stats = std::move(*stats);
    cached.status = "hit " + stats_cache_path(cache_dir, key);
  } else {
    cached.stats = collect_all_one_shot(model, tokens, batch_size);
    save_stats(cache_dir, key, cached.stats, {{"model", model_path}, {"calib", describe(spec)}});
    cached.status = "miss, saved " + stats_cache_path(cache_dir, key);
  }
  cached.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return cached;
}

}  // namespace lmshrink
