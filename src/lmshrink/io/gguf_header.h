// The GGUF header (llama.cpp's file format: ggml's gguf.h and docs/gguf.md), parsed without libtorch: "GGUF", a
// uint32 version (2 or 3; both lay out counts as uint64), the tensor and key-value counts, the key-values (a key is a
// GGUF string: uint64 length + bytes; a value is a uint32 type then the value: integers of 8-64 bits, float32/64,
// bool, string, or an array: element type, uint64 count, elements; arrays of arrays are refused), one info per tensor
// (name, uint32 dimension count 1-4, uint64 dimensions innermost first, uint32 ggml type, uint64 offset into the data
// section), then padding to general.alignment (default 32) and the data section.
// Everything is checked against the bytes that remain before anything is allocated: counts, string lengths, array
// lengths, dimension products (overflow), tensor sizes, offsets (aligned, inside the file, no overlaps). Tensor types
// lmshrink cannot dequantise (anything but F32, F16, BF16 and Q8_0) are refused naming the tensor and the type.
// parse_gguf_header is the buffer entry point the fuzzers drive (fuzz/); io/gguf_file.h maps files.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lmshrink {

enum class GgufType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6, kBool = 7, kString = 8,
  kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12
};

// One metadata value. Numbers (any integer, float or bool) are held as double: GGUF's integer keys are counts and
// ids far below 2^53, and integer arrays (token types) likewise.
struct GgufValue {
  GgufType type = GgufType::kUint32;
  GgufType element_type = GgufType::kUint32;  // arrays only
  double number = 0;
  std::string text;
  std::vector<double> numbers;       // an array of numbers
  std::vector<std::string> texts;    // an array of strings
};

// ggml's type codes of the tensors lmshrink reads.
enum class GgmlType : uint32_t { kF32 = 0, kF16 = 1, kQ8_0 = 8, kBF16 = 30 };

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> shape;  // outermost first, as libtorch holds it (GGUF lists them innermost first)
  GgmlType type = GgmlType::kF32;
  int64_t offset = 0;          // from the start of the data section
  int64_t bytes = 0;
};

struct GgufHeader {
  uint32_t version = 3;
  std::map<std::string, GgufValue> metadata;
  std::vector<GgufTensorInfo> tensors;  // in file order
  int64_t data_offset = 0;              // where the data section starts in the file
  int64_t alignment = 32;
};

// file: the file's bytes (at least the header); file_bytes: the file's size. Throws lmshrink::Error naming origin
// and the offending field on any malformed, truncated or unsupported input.
GgufHeader parse_gguf_header(std::string_view file, int64_t file_bytes, const std::string& origin);

// Text from a file as an error message may show it: control characters as \xNN, at most 80 bytes.
std::string gguf_printable(const std::string& text);

// The name of a ggml type code as llama.cpp spells it ("q4_K", ...), or "type N" for an unknown code.
std::string ggml_type_name(uint32_t code);

// Checked reads of metadata; each throws naming origin and the key when it is absent or of another kind.
bool gguf_has(const GgufHeader& header, const std::string& key);
int64_t gguf_integer(const GgufHeader& header, const std::string& key, const std::string& origin);
double gguf_float(const GgufHeader& header, const std::string& key, const std::string& origin);
bool gguf_bool(const GgufHeader& header, const std::string& key, const std::string& origin);
const std::string& gguf_string(const GgufHeader& header, const std::string& key, const std::string& origin);
const std::vector<std::string>& gguf_strings(const GgufHeader& header, const std::string& key, const std::string& origin);
const std::vector<double>& gguf_numbers(const GgufHeader& header, const std::string& key, const std::string& origin);

}  // namespace lmshrink
