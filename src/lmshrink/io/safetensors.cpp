// safetensors reader and writer (see safetensors.h).
#include "lmshrink/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

struct SafetensorsFile::Mapping {
  void* address = nullptr;
  size_t bytes = 0;
  ~Mapping() {
    if (address && address != MAP_FAILED) {
      unregister_mapping(address);
      munmap(address, bytes);
    }
  }
};

namespace {

// The safetensors dtypes lmshrink reads and writes, with their torch types.
struct DtypeName {
  const char* name;
  at::ScalarType type;
};
const DtypeName kDtypes[] = {{"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
                             {"I64", torch::kInt64}, {"I32", torch::kInt32}, {"I16", torch::kInt16}, {"I8", torch::kInt8},
                             {"U8", torch::kUInt8}};
const char* kSupportedDtypes = "F64, F32, F16, BF16, I64, I32, I16, I8, U8";

at::ScalarType scalar_type_of(const std::string& dtype, const std::string& origin) {
  for (const DtypeName& d : kDtypes) {
    if (dtype == d.name) return d.type;
  }
  fail(origin, ": unsupported dtype ", dtype, " (supported: ", kSupportedDtypes, ")");
}

std::string dtype_name_of(at::ScalarType type, const std::string& name) {
  for (const DtypeName& d : kDtypes) {
    if (type == d.type) return d.name;
  }
  fail("write_safetensors: tensor ", name, " has unsupported dtype ", c10::toString(type), " (supported: ",
       kSupportedDtypes, ")");
}

}  // namespace

std::string safetensors_dtype_name(at::ScalarType type, const std::string& tensor_name) {
  return dtype_name_of(type, tensor_name);
}

int64_t safetensors_dtype_bytes(const std::string& dtype, const std::string& origin) {
  return static_cast<int64_t>(c10::elementSize(scalar_type_of(dtype, origin)));
}

namespace {

SafetensorInfo parse_entry(const std::string& path, const std::string& name, const nlohmann::json& entry,
                           int64_t buffer_bytes) {
  std::string where = path + ": tensor " + name;
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
  LMSHRINK_CHECK(entry["data_offsets"][0].is_number_unsigned() && entry["data_offsets"][1].is_number_unsigned(),
                 where, ": data_offsets must be non-negative integers");
  info.begin = entry["data_offsets"][0].get<int64_t>();
  info.end = entry["data_offsets"][1].get<int64_t>();
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
void check_coverage(const std::string& path, const std::map<std::string, SafetensorInfo>& tensors, int64_t buffer_bytes) {
  std::vector<std::pair<int64_t, std::string>> starts;
  for (const auto& [name, info] : tensors) starts.push_back({info.begin, name});
  std::sort(starts.begin(), starts.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : tensors.at(a.second).end < tensors.at(b.second).end;
  });
  int64_t covered = 0;
  for (const auto& [begin, name] : starts) {
    const SafetensorInfo& info = tensors.at(name);
    if (info.begin == info.end && begin == covered) continue;  // empty tensors take no bytes
    LMSHRINK_CHECK(begin >= covered, path, ": tensor ", name, " overlaps the previous tensor (starts at byte ", begin,
                   ", previous ends at ", covered, ")");
    LMSHRINK_CHECK(begin == covered, path, ": hole in the data buffer: bytes [", covered, ", ", begin,
                   ") belong to no tensor (before ", name, ")");
    covered = info.end;
  }
  LMSHRINK_CHECK(covered == buffer_bytes, path, ": the data buffer has ", buffer_bytes - covered,
                 " trailing bytes that belong to no tensor");
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path), mapping_(std::make_shared<Mapping>()) {
  int fd = ::open(path.c_str(), O_RDONLY);
  LMSHRINK_CHECK(fd >= 0, path, ": cannot open safetensors file");
  struct stat st {};
  ::fstat(fd, &st);
  int64_t file_bytes = st.st_size;
  if (file_bytes > 0) {
    mapping_->bytes = static_cast<size_t>(file_bytes);
    mapping_->address = ::mmap(nullptr, mapping_->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  }
  ::close(fd);
  LMSHRINK_CHECK(file_bytes >= 8, path, ": truncated safetensors file (", file_bytes, " bytes; the header length alone is 8)");
  LMSHRINK_CHECK(mapping_->address != MAP_FAILED, path, ": mmap failed");
  register_mapping(mapping_->address, mapping_->bytes);  // streaming work drops its pages (mapped_pages.h)
  const uint8_t* base = static_cast<const uint8_t*>(mapping_->address);
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | base[i];  // little-endian
  LMSHRINK_CHECK(header_bytes <= static_cast<uint64_t>(kSafetensorsMaxHeaderBytes), path, ": header length ",
                 header_bytes, " exceeds the 100,000,000-byte limit");
  LMSHRINK_CHECK(8 + static_cast<int64_t>(header_bytes) <= file_bytes, path, ": header length ", header_bytes,
                 " runs past the end of the ", file_bytes, "-byte file");
  std::string header(reinterpret_cast<const char*>(base + 8), header_bytes);
  LMSHRINK_CHECK(!header.empty() && header[0] == '{', path, ": header does not start with '{' (not a safetensors file?)");
  nlohmann::json json = nlohmann::json::parse(header, nullptr, false);
  LMSHRINK_CHECK(!json.is_discarded() && json.is_object(), path, ": header is not a JSON object");
  buffer_ = base + 8 + header_bytes;
  int64_t buffer_bytes = file_bytes - 8 - static_cast<int64_t>(header_bytes);
  for (const auto& [name, entry] : json.items()) {
    if (name == "__metadata__") {
      LMSHRINK_CHECK(entry.is_object(), path, ": __metadata__ must be a string-to-string map");
      for (const auto& [key, value] : entry.items()) {
        LMSHRINK_CHECK(value.is_string(), path, ": __metadata__ value of ", key, " is not a string");
        metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    tensors_[name] = parse_entry(path, name, entry, buffer_bytes);
  }
  check_coverage(path, tensors_, buffer_bytes);
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  auto it = tensors_.find(name);
  LMSHRINK_CHECK(it != tensors_.end(), path_, ": no tensor named ", name);
  const SafetensorInfo& info = it->second;
  at::ScalarType type = scalar_type_of(info.dtype, path_);
  const uint8_t* data = buffer_ + info.begin;
  int64_t element_bytes = safetensors_dtype_bytes(info.dtype, path_);
  auto options = torch::TensorOptions().dtype(type);
  if (reinterpret_cast<uintptr_t>(data) % element_bytes != 0) {  // unaligned: copy
    at::Tensor copy = torch::empty(info.shape, options);
    std::memcpy(copy.data_ptr(), data, info.end - info.begin);
    return copy;
  }
  std::shared_ptr<Mapping> keep_alive = mapping_;
  return torch::from_blob(const_cast<uint8_t*>(data), info.shape, [keep_alive](void*) {}, options);
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> contiguous;
  int64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    LMSHRINK_CHECK(name != "__metadata__" && !header.contains(name), "write_safetensors: duplicate or reserved name ", name);
    at::Tensor c = t.detach().to(torch::kCPU).contiguous();
    int64_t bytes = c.numel() * static_cast<int64_t>(c.element_size());
    header[name] = {{"dtype", dtype_name_of(c.scalar_type(), name)}, {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(c);
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  AtomicFile file(path);
  uint64_t length = header_text.size();
  uint8_t length_bytes[8];
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<uint8_t>(length >> (8 * i));
  file.write(length_bytes, 8);
  file.write(header_text.data(), header_text.size());
  for (const at::Tensor& c : contiguous) file.write(c.data_ptr(), c.numel() * c.element_size());
  file.commit();
}

}  // namespace lmshrink
