// GGUF v3 writer, the file format of llama.cpp (ggml's gguf.h and docs/gguf.md): "GGUF", version 3, tensor and
// key-value counts, the key-values (GGUF strings are a uint64 length and the bytes), one info per tensor (name,
// dimensions innermost first, type, offset into the data section), padding to the alignment (32 bytes), then each
// tensor's bytes, each padded to the alignment. Little-endian throughout.
// Tensors are declared first (so that the header with every offset can be written), then their data is streamed in
// the declared order one tensor at a time, converted from float32 to the declared type: F32, F16 (round to nearest
// even), BF16 (round to nearest even) or Q8_0 (blocks of 32 values: an f16 scale d = max|x| / 127 and 32 int8
// round(x / d), rounding half away from zero, as ggml's quantize_row_q8_0_ref). The file is written atomically.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lmshrink {

class AtomicFile;

enum class GgufTensorType : uint32_t { kF32 = 0, kF16 = 1, kQ8_0 = 8, kBF16 = 30 };

GgufTensorType parse_gguf_tensor_type(const std::string& name);  // f32, f16, bf16, q8_0; throws lmshrink::Error
std::string gguf_tensor_type_name(GgufTensorType type);
// Bytes of a [rows, cols] tensor of this type (Q8_0: cols must be a multiple of 32).
int64_t gguf_tensor_bytes(GgufTensorType type, int64_t rows, int64_t cols);
// One Q8_0 row (cols a multiple of 32) as ggml lays it out: per block an f16 scale then 32 int8.
std::vector<uint8_t> quantize_q8_0(const float* values, int64_t cols);

class GgufWriter {
 public:
  GgufWriter();
  ~GgufWriter();

  // Metadata, in the order written.
  void add_string(const std::string& key, const std::string& value);
  void add_uint32(const std::string& key, uint32_t value);
  void add_int32(const std::string& key, int32_t value);
  void add_float32(const std::string& key, float value);
  void add_bool(const std::string& key, bool value);
  void add_string_array(const std::string& key, const std::vector<std::string>& values);
  void add_float32_array(const std::string& key, const std::vector<float>& values);
  void add_int32_array(const std::string& key, const std::vector<int32_t>& values);

  // A tensor of shape {cols} or {rows, cols} (row-major, as libtorch holds it; GGUF lists cols first).
  void declare_tensor(const std::string& name, const std::vector<int64_t>& shape, GgufTensorType type);

  // Opens path (atomically), writes the header; then write_tensor in declaration order; then commit.
  void begin(const std::string& path);
  void write_tensor(const std::string& name, const at::Tensor& values);  // any floating dtype, the declared shape
  int64_t commit();  // returns the file's bytes

 private:
  struct TensorInfo {
    std::string name;
    std::vector<int64_t> shape;
    GgufTensorType type;
    int64_t offset;
  };
  void begin_key(const std::string& key, uint32_t value_type);  // the key, its value type; counts it
  void begin_array(const std::string& key, uint32_t element_type, size_t count);
  void write_padding(int64_t bytes_so_far);

  std::string metadata_;  // the encoded key-values
  int64_t metadata_count_ = 0;
  std::vector<TensorInfo> tensors_;
  int64_t data_bytes_ = 0;  // the data section, padded
  size_t next_tensor_ = 0;
  int64_t written_ = 0;
  std::unique_ptr<AtomicFile> file_;
};

}  // namespace lmshrink
