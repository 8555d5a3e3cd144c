// GGUF v3 writer (see gguf_writer.h).
#include "lmshrink/io/gguf_writer.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>

#include "lmshrink/io/atomic_file.h"
#include "lmshrink/util/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "GGUF is little-endian; this writer copies host words");

namespace lmshrink {

namespace {

constexpr int64_t kAlignment = 32;
constexpr int64_t kQ8Block = 32;
constexpr int64_t kQ8BlockBytes = 2 + kQ8Block;

enum ValueType : uint32_t { kUint32 = 4, kInt32 = 5, kFloat32 = 6, kBool = 7, kString = 8, kArray = 9 };

template <typename T>
void append(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

void append_string(std::string& out, const std::string& text) {
  append<uint64_t>(out, text.size());
  out += text;
}

int64_t padded(int64_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

uint16_t to_f16_bits(float value) { return c10::Half(value).x; }  // round to nearest even

}  // namespace

GgufTensorType parse_gguf_tensor_type(const std::string& name) {
  if (name == "f32") return GgufTensorType::kF32;
  if (name == "f16") return GgufTensorType::kF16;
  if (name == "bf16") return GgufTensorType::kBF16;
  if (name == "q8_0") return GgufTensorType::kQ8_0;
  fail("--type: unknown GGUF tensor type '", name, "' (expected f32, f16, bf16 or q8_0)");
}

std::string gguf_tensor_type_name(GgufTensorType type) {
  switch (type) {
    case GgufTensorType::kF32: return "f32";
    case GgufTensorType::kF16: return "f16";
    case GgufTensorType::kBF16: return "bf16";
    case GgufTensorType::kQ8_0: return "q8_0";
  }
  return "?";
}

int64_t gguf_tensor_bytes(GgufTensorType type, int64_t rows, int64_t cols) {
  switch (type) {
    case GgufTensorType::kF32: return rows * cols * 4;
    case GgufTensorType::kF16:
    case GgufTensorType::kBF16: return rows * cols * 2;
    case GgufTensorType::kQ8_0:
      LMSHRINK_CHECK(cols % kQ8Block == 0, "Q8_0 needs rows of a multiple of 32 values, got ", cols);
      return rows * (cols / kQ8Block) * kQ8BlockBytes;
  }
  return 0;
}

std::vector<uint8_t> quantize_q8_0(const float* values, int64_t cols) {
  LMSHRINK_CHECK(cols % kQ8Block == 0, "Q8_0 needs rows of a multiple of 32 values, got ", cols);
  std::vector<uint8_t> out(static_cast<size_t>(cols / kQ8Block * kQ8BlockBytes));
  uint8_t* block = out.data();
  for (int64_t start = 0; start < cols; start += kQ8Block, block += kQ8BlockBytes) {
    float max_abs = 0.0f;
    for (int64_t j = 0; j < kQ8Block; ++j) max_abs = std::max(max_abs, std::fabs(values[start + j]));
    const float scale = max_abs / 127.0f;
    const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
    uint16_t scale_bits = to_f16_bits(scale);
    std::memcpy(block, &scale_bits, 2);
    for (int64_t j = 0; j < kQ8Block; ++j) {
      block[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::round(values[start + j] * inverse)));
    }
  }
  return out;
}

GgufWriter::GgufWriter() = default;
GgufWriter::~GgufWriter() = default;

void GgufWriter::begin_key(const std::string& key, uint32_t value_type) {
  append_string(metadata_, key);
  append<uint32_t>(metadata_, value_type);
  ++metadata_count_;
}

void GgufWriter::begin_array(const std::string& key, uint32_t element_type, size_t count) {
  begin_key(key, kArray);
  append<uint32_t>(metadata_, element_type);
  append<uint64_t>(metadata_, count);
}

void GgufWriter::add_string(const std::string& key, const std::string& value) {
  begin_key(key, kString);
  append_string(metadata_, value);
}

void GgufWriter::add_uint32(const std::string& key, uint32_t value) {
  begin_key(key, kUint32);
  append(metadata_, value);
}

void GgufWriter::add_int32(const std::string& key, int32_t value) {
  begin_key(key, kInt32);
  append(metadata_, value);
}

void GgufWriter::add_float32(const std::string& key, float value) {
  begin_key(key, kFloat32);
  append(metadata_, value);
}

void GgufWriter::add_bool(const std::string& key, bool value) {
  begin_key(key, kBool);
  append<uint8_t>(metadata_, value ? 1 : 0);
}

void GgufWriter::add_string_array(const std::string& key, const std::vector<std::string>& values) {
  begin_array(key, kString, values.size());
  for (const std::string& value : values) append_string(metadata_, value);
}

void GgufWriter::add_float32_array(const std::string& key, const std::vector<float>& values) {
  begin_array(key, kFloat32, values.size());
  for (float value : values) append(metadata_, value);
}

void GgufWriter::add_int32_array(const std::string& key, const std::vector<int32_t>& values) {
  begin_array(key, kInt32, values.size());
  for (int32_t value : values) append(metadata_, value);
}

void GgufWriter::declare_tensor(const std::string& name, const std::vector<int64_t>& shape, GgufTensorType type) {
  LMSHRINK_CHECK(!file_, "GGUF writer: tensor ", name, " declared after the header was written");
  LMSHRINK_CHECK(shape.size() == 1 || shape.size() == 2, "GGUF writer: tensor ", name, " must be 1-D or 2-D");
  for (const TensorInfo& info : tensors_) LMSHRINK_CHECK(info.name != name, "GGUF writer: tensor ", name, " declared twice");
  int64_t rows = shape.size() == 2 ? shape[0] : 1, cols = shape.back();
  tensors_.push_back({name, shape, type, data_bytes_});
  data_bytes_ += padded(gguf_tensor_bytes(type, rows, cols));
}

void GgufWriter::begin(const std::string& path) {
  std::string header = "GGUF";
  append<uint32_t>(header, 3);
  append<uint64_t>(header, tensors_.size());
  append<uint64_t>(header, metadata_count_);
  header += metadata_;
  for (const TensorInfo& info : tensors_) {
    append_string(header, info.name);
    append<uint32_t>(header, static_cast<uint32_t>(info.shape.size()));
    for (auto dim = info.shape.rbegin(); dim != info.shape.rend(); ++dim) append<uint64_t>(header, *dim);  // ne0 first
    append<uint32_t>(header, static_cast<uint32_t>(info.type));
    append<uint64_t>(header, info.offset);
  }
  file_ = std::make_unique<AtomicFile>(path);
  file_->write(header.data(), header.size());
  written_ = static_cast<int64_t>(header.size());
  write_padding(written_);
}

void GgufWriter::write_padding(int64_t bytes_so_far) {
  static const char zeros[kAlignment] = {};
  int64_t pad = padded(bytes_so_far) - bytes_so_far;
  file_->write(zeros, static_cast<size_t>(pad));
  written_ += pad;
}

void GgufWriter::write_tensor(const std::string& name, const at::Tensor& values) {
  LMSHRINK_CHECK(file_ && next_tensor_ < tensors_.size() && tensors_[next_tensor_].name == name,
                 "GGUF writer: tensor ", name, " written out of its declared order");
  const TensorInfo& info = tensors_[next_tensor_];
  LMSHRINK_CHECK(values.sizes().vec() == info.shape, "GGUF writer: tensor ", name, " has shape ", values.sizes(),
                 ", declared ", c10::IntArrayRef(info.shape));
  ++next_tensor_;
  int64_t cols = info.shape.back(), rows = values.numel() / std::max<int64_t>(1, cols);
  at::Tensor rows_cols = values.detach().to(torch::kFloat32).contiguous().view({rows, cols});
  int64_t bytes = 0;
  if (info.type == GgufTensorType::kF32) {
    file_->write(rows_cols.data_ptr<float>(), static_cast<size_t>(rows * cols * 4));
    bytes = rows * cols * 4;
  } else if (info.type == GgufTensorType::kF16 || info.type == GgufTensorType::kBF16) {
    at::Tensor half = rows_cols.to(info.type == GgufTensorType::kF16 ? torch::kHalf : torch::kBFloat16).contiguous();
    file_->write(half.data_ptr(), static_cast<size_t>(rows * cols * 2));
    bytes = rows * cols * 2;
  } else {
    const float* data = rows_cols.data_ptr<float>();
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<uint8_t> row = quantize_q8_0(data + r * cols, cols);
      file_->write(row.data(), row.size());
      bytes += static_cast<int64_t>(row.size());
    }
  }
  written_ += bytes;
  write_padding(written_);
}

int64_t GgufWriter::commit() {
  LMSHRINK_CHECK(file_ && next_tensor_ == tensors_.size(), "GGUF writer: ", tensors_.size() - next_tensor_,
                 " declared tensors were not written");
  file_->commit();
  return written_;
}

}  // namespace lmshrink
