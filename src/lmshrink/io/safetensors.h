// safetensors reader and writer (format: huggingface/safetensors README). A file is an 8-byte
// little-endian header length N, N bytes of JSON starting with '{' (N <= 100,000,000), then the data
// buffer. Each tensor names dtype, shape and data_offsets [begin, end) relative to the buffer; the
// tensors must cover the buffer exactly, with no holes or overlaps. Supported dtypes: F64, F32, F16, BF16
// and the integers I64, I32, I16, I8, U8 (quantized codes, indices). An optional "__metadata__" maps
// strings to strings. Reading memory-maps the file (copy-on-write) and hands out zero-copy tensors
// when the data is aligned for its dtype, copies otherwise. Writing is atomic: a temp file in the
// same folder, fsync, rename; the header is padded with spaces to a multiple of 8 bytes.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/io/safetensors_header.h"

namespace lmshrink {

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);  // throws lmshrink::Error on any malformed input
  const std::string& path() const { return path_; }
  const std::map<std::string, SafetensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return tensors_.count(name) > 0; }
  // The tensor at its stored dtype; zero-copy views keep the mapping alive.
  at::Tensor tensor(const std::string& name) const;

 private:
  std::string path_;
  std::shared_ptr<MappedFile> mapping_;
  const uint8_t* buffer_ = nullptr;  // start of the data buffer
  std::map<std::string, SafetensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (float64, float32, float16, bfloat16, int64, int32, int16, int8 or uint8; made contiguous) in the
// given order.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// The safetensors dtype name of a torch type ("BF16", ...); throws naming the tensor on one lmshrink does not handle.
std::string safetensors_dtype_name(at::ScalarType type, const std::string& tensor_name);

}  // namespace lmshrink
