// The safetensors header, parsed without libtorch (format: huggingface/safetensors README): an 8-byte
// little-endian header length N (N <= 100,000,000), N bytes of JSON starting with '{', then the data buffer.
// Each tensor names dtype, shape and data_offsets [begin, end) relative to the buffer; the tensors must tile
// the buffer exactly, with no holes or overlaps; sizes are computed with overflow checks. An optional
// "__metadata__" maps strings to strings. Also the shard index (model.safetensors.index.json). These are the
// buffer entry points the fuzzers drive (fuzz/); io/safetensors.h maps files and hands out tensors.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lmshrink {

constexpr int64_t kSafetensorsMaxHeaderBytes = 100000000;

struct SafetensorInfo {
  std::string dtype;           // "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8" or "U8"
  std::vector<int64_t> shape;
  int64_t begin = 0, end = 0;  // byte range within the data buffer
};

struct SafetensorsHeader {
  std::map<std::string, SafetensorInfo> tensors;
  std::map<std::string, std::string> metadata;
  int64_t buffer_offset = 0;  // where the data buffer starts in the file: 8 + N
};

// file: the whole file's bytes (or at least its first 8 + N; file_bytes is the file's size). origin names the
// file in errors. Throws lmshrink::Error on any malformed header.
SafetensorsHeader parse_safetensors_header(std::string_view file, int64_t file_bytes, const std::string& origin);

// Bytes per element of a safetensors dtype name; throws on one lmshrink does not handle.
int64_t safetensors_dtype_bytes(const std::string& dtype, const std::string& origin);

// The weight_map of a model.safetensors.index.json as (tensor, shard file name) pairs. A shard must be a plain
// file name in the model's folder (no '/', not "." or ".."). Throws naming origin.
std::vector<std::pair<std::string, std::string>> parse_safetensors_index(std::string_view text, const std::string& origin);

}  // namespace lmshrink
