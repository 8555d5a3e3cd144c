// safetensors reader and writer (see safetensors.h).
#include "lmshrink/io/safetensors.h"

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/mapped_tensor.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

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

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path), mapping_(map_file(path, "safetensors file")) {
  int64_t file_bytes = mapping_->bytes;
  LMSHRINK_CHECK(file_bytes >= 8, path, ": truncated safetensors file (", file_bytes, " bytes; the header length alone is 8)");
  const char* base = reinterpret_cast<const char*>(mapping_->address);
  SafetensorsHeader header = parse_safetensors_header(std::string_view(base, file_bytes), file_bytes, path);
  buffer_ = reinterpret_cast<const uint8_t*>(base) + header.buffer_offset;
  tensors_ = std::move(header.tensors);
  metadata_ = std::move(header.metadata);
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  auto it = tensors_.find(name);
  LMSHRINK_CHECK(it != tensors_.end(), path_, ": no tensor named ", name);
  const SafetensorInfo& info = it->second;
  at::ScalarType type = scalar_type_of(info.dtype, path_);
  return mapped_tensor(mapping_, buffer_ + info.begin, info.shape, type, info.end - info.begin);
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
