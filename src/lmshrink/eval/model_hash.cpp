// FNV-1a 64 fingerprint of a model file or directory (model_hash.h).
#include "lmshrink/eval/model_hash.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

void mix(uint64_t& hash, const unsigned char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * kFnvPrime;
}

void mix_file(uint64_t& hash, const std::filesystem::path& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  LMSHRINK_CHECK(file != nullptr, path.string(), ": cannot open to fingerprint");
  std::vector<unsigned char> buffer(1 << 20);
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) mix(hash, buffer.data(), n);
  std::fclose(file);
}

}  // namespace

std::string model_fingerprint(const std::string& path) {
  uint64_t hash = kFnvOffset;
  if (std::filesystem::is_directory(path)) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(path))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::string name = file.filename().string();
      mix(hash, reinterpret_cast<const unsigned char*>(name.data()), name.size());
      mix_file(hash, file);
    }
  } else {
    mix_file(hash, path);
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

}  // namespace lmshrink
