// GGUF tensors as libtorch tensors (see gguf_file.h).
#include "lmshrink/io/gguf_file.h"

#include <c10/util/Half.h>
#include <torch/torch.h>

#include <cstring>

#include "lmshrink/io/mapped_tensor.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

at::ScalarType stored_type(GgmlType type) {
  switch (type) {
    case GgmlType::kF16: return torch::kFloat16;
    case GgmlType::kBF16: return torch::kBFloat16;
    default: return torch::kFloat32;
  }
}

}  // namespace

void dequantize_q8_0(const uint8_t* blocks, int64_t count, float* out) {
  for (int64_t start = 0; start < count; start += 32, blocks += 34) {
    c10::Half scale;
    std::memcpy(&scale.x, blocks, 2);
    const float d = static_cast<float>(scale);
    for (int64_t j = 0; j < 32; ++j) out[start + j] = d * static_cast<float>(static_cast<int8_t>(blocks[2 + j]));
  }
}

GgufFile::GgufFile(const std::string& path) : path_(path), mapping_(map_file(path, "GGUF file")) {
  std::string_view bytes(reinterpret_cast<const char*>(mapping_->address), static_cast<size_t>(mapping_->bytes));
  header_ = parse_gguf_header(bytes, mapping_->bytes, path);
  for (const GgufTensorInfo& info : header_.tensors) index_[info.name] = &info;
}

at::Tensor GgufFile::tensor(const std::string& name, const std::vector<int64_t>& expected_shape) {
  auto it = index_.find(name);
  LMSHRINK_CHECK(it != index_.end(), path_, ": missing tensor ", name, " (expected shape ", shape_text(expected_shape), ")");
  const GgufTensorInfo& info = *it->second;
  LMSHRINK_CHECK(info.shape == expected_shape, path_, ": ", name, ": expected shape ", shape_text(expected_shape), ", got ",
                 shape_text(info.shape));
  used_.insert(name);
  const uint8_t* data = mapping_->address + header_.data_offset + info.offset;
  if (info.type == GgmlType::kQ8_0) {
    at::Tensor values = torch::empty(info.shape, torch::kFloat32);
    dequantize_q8_0(data, values.numel(), values.data_ptr<float>());
    return values;
  }
  return mapped_tensor(mapping_, data, info.shape, stored_type(info.type), info.bytes);
}

std::vector<std::string> GgufFile::unused() const {
  std::vector<std::string> names;
  for (const GgufTensorInfo& info : header_.tensors) {
    if (!used_.count(info.name)) names.push_back(info.name);
  }
  return names;
}

}  // namespace lmshrink
