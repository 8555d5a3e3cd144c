// safetensors header and shard index parsing (see safetensors_header.h).
#include "lmshrink/io/safetensors_header.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

struct DtypeBytes {
  const char* name;
  int64_t bytes;
};
const DtypeBytes kDtypeBytes[] = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                  {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1}};

SafetensorInfo parse_entry(const std::string& origin, const std::string& name, const nlohmann::json& entry,
                           int64_t buffer_bytes) {
  std::string where = origin + ": tensor " + name;
  LMSHRINK_CHECK(entry.is_object() && entry.contains("dtype") && entry.contains("shape") &&
                     entry.contains("data_offsets") && entry["dtype"].is_string() && entry["shape"].is_array() &&
                     entry["data_offsets"].is_array() && entry["data_offsets"].size() == 2,
                 where, ": expected {dtype, shape, data_offsets: [begin, end]}");
  SafetensorInfo info;
  info.dtype = entry["dtype"].get<std::string>();
  int64_t numel = 1;
  for (const auto& d : entry["shape"]) {
    LMSHRINK_CHECK(d.is_number_unsigned() && d.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX), where,
                   ": shape entries must be non-negative integers");
    info.shape.push_back(d.get<int64_t>());
    LMSHRINK_CHECK(!__builtin_mul_overflow(numel, info.shape.back(), &numel), where, ": shape ", entry["shape"].dump(),
                   " has more elements than 64 bits can count");
  }
  const nlohmann::json& offsets = entry["data_offsets"];
  LMSHRINK_CHECK(offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned() &&
                     offsets[0].get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX) &&
                     offsets[1].get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX),
                 where, ": data_offsets must be non-negative 64-bit integers");
  info.begin = offsets[0].get<int64_t>();
  info.end = offsets[1].get<int64_t>();
  LMSHRINK_CHECK(info.begin <= info.end && info.end <= buffer_bytes, where, ": data_offsets [", info.begin, ", ",
                 info.end, ") out of range of the ", buffer_bytes, "-byte data buffer");
  int64_t expected = 0;
  LMSHRINK_CHECK(!__builtin_mul_overflow(numel, safetensors_dtype_bytes(info.dtype, where), &expected), where, ": shape ",
                 entry["shape"].dump(), " needs more bytes than 64 bits can count");
  LMSHRINK_CHECK(info.end - info.begin == expected, where, ": shape and dtype ", info.dtype, " need ", expected,
                 " bytes, data_offsets give ", info.end - info.begin);
  return info;
}

// The tensors must tile the buffer: sorted by begin, each starts where the previous ended.
void check_coverage(const std::string& origin, const std::map<std::string, SafetensorInfo>& tensors, int64_t buffer_bytes) {
  std::vector<std::pair<int64_t, std::string>> starts;
  for (const auto& [name, info] : tensors) starts.push_back({info.begin, name});
  std::sort(starts.begin(), starts.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : tensors.at(a.second).end < tensors.at(b.second).end;
  });
  int64_t covered = 0;
  for (const auto& [begin, name] : starts) {
    const SafetensorInfo& info = tensors.at(name);
    if (info.begin == info.end && begin == covered) continue;  // empty tensors take no bytes
    LMSHRINK_CHECK(begin >= covered, origin, ": tensor ", name, " overlaps the previous tensor (starts at byte ", begin,
                   ", previous ends at ", covered, ")");
    LMSHRINK_CHECK(begin == covered, origin, ": hole in the data buffer: bytes [", covered, ", ", begin,
                   ") belong to no tensor (before ", name, ")");
    covered = info.end;
  }
  LMSHRINK_CHECK(covered == buffer_bytes, origin, ": the data buffer has ", buffer_bytes - covered,
                 " trailing bytes that belong to no tensor");
}

}  // namespace

int64_t safetensors_dtype_bytes(const std::string& dtype, const std::string& origin) {
  for (const DtypeBytes& d : kDtypeBytes) {
    if (dtype == d.name) return d.bytes;
  }
  fail(origin, ": unsupported dtype ", dtype, " (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8)");
}

SafetensorsHeader parse_safetensors_header(std::string_view file, int64_t file_bytes, const std::string& origin) {
  LMSHRINK_CHECK(file_bytes >= 8 && file.size() >= 8, origin, ": truncated safetensors file (", file_bytes,
                 " bytes; the header length alone is 8)");
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | static_cast<uint8_t>(file[i]);  // little-endian
  LMSHRINK_CHECK(header_bytes <= static_cast<uint64_t>(kSafetensorsMaxHeaderBytes), origin, ": header length ",
                 header_bytes, " exceeds the 100,000,000-byte limit");
  LMSHRINK_CHECK(8 + static_cast<int64_t>(header_bytes) <= file_bytes && 8 + header_bytes <= file.size(), origin,
                 ": header length ", header_bytes, " runs past the end of the ", file_bytes, "-byte file");
  std::string_view header = file.substr(8, header_bytes);
  LMSHRINK_CHECK(!header.empty() && header[0] == '{', origin, ": header does not start with '{' (not a safetensors file?)");
  nlohmann::json json = nlohmann::json::parse(header, nullptr, false);
  LMSHRINK_CHECK(!json.is_discarded() && json.is_object(), origin, ": header is not a JSON object");
  SafetensorsHeader parsed;
  parsed.buffer_offset = 8 + static_cast<int64_t>(header_bytes);
  int64_t buffer_bytes = file_bytes - parsed.buffer_offset;
  for (const auto& [name, entry] : json.items()) {
    if (name == "__metadata__") {
      LMSHRINK_CHECK(entry.is_object(), origin, ": __metadata__ must be a string-to-string map");
      for (const auto& [key, value] : entry.items()) {
        LMSHRINK_CHECK(value.is_string(), origin, ": __metadata__ value of ", key, " is not a string");
        parsed.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    parsed.tensors[name] = parse_entry(origin, name, entry, buffer_bytes);
  }
  check_coverage(origin, parsed.tensors, buffer_bytes);
  return parsed;
}

std::vector<std::pair<std::string, std::string>> parse_safetensors_index(std::string_view text, const std::string& origin) {
  nlohmann::json index = nlohmann::json::parse(text, nullptr, false);
  LMSHRINK_CHECK(!index.is_discarded() && index.is_object() && index.contains("weight_map") &&
                     index["weight_map"].is_object(),
                 origin, ": expected a JSON object with a \"weight_map\"");
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& [tensor, shard] : index["weight_map"].items()) {
    LMSHRINK_CHECK(shard.is_string(), origin, ": weight_map.", tensor, ": expected a shard file name (a string)");
    std::string name = shard.get<std::string>();
    LMSHRINK_CHECK(!name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
                       name.find('\0') == std::string::npos,
                   origin, ": weight_map.", tensor, ": shard '", name, "' is not a file name in the model's folder");
    entries.emplace_back(tensor, name);
  }
  LMSHRINK_CHECK(!entries.empty(), origin, ": weight_map lists no tensors");
  return entries;
}

}  // namespace lmshrink
