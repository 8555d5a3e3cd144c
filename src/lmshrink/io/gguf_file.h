// A GGUF file mapped for reading (header: gguf_header.h). Tensors come out as libtorch tensors of their GGUF shape
// (outermost first): F32, F16 and BF16 as zero-copy views of the mapping (copied when the data is not aligned for
// its type), Q8_0 dequantised to float32 as ggml's dequantize_row_q8_0 does (each value = its block's f16 scale ×
// its int8 code, the product exact in float32).
#pragma once
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "lmshrink/io/gguf_header.h"
#include "lmshrink/io/mapped_pages.h"

namespace lmshrink {

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);  // throws lmshrink::Error on any malformed input
  const std::string& path() const { return path_; }
  const GgufHeader& header() const { return header_; }
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  // The tensor, checked against expected_shape (outermost first); counts it as used.
  at::Tensor tensor(const std::string& name, const std::vector<int64_t>& expected_shape);
  std::vector<std::string> unused() const;  // names never fetched with tensor()

 private:
  std::string path_;
  std::shared_ptr<MappedFile> mapping_;
  GgufHeader header_;
  std::map<std::string, const GgufTensorInfo*> index_;
  std::set<std::string> used_;
};

// One Q8_0 row (blocks of an f16 scale and 32 int8 codes) as float32: count values, count a multiple of 32.
void dequantize_q8_0(const uint8_t* blocks, int64_t count, float* out);

}  // namespace lmshrink
