// GGUF header parsing (see gguf_header.h).
#include "lmshrink/io/gguf_header.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <set>

#include "lmshrink/util/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "GGUF is little-endian; this reader copies host words");

namespace lmshrink {

namespace {

constexpr int64_t kMaxExactInteger = int64_t{1} << 53;

// Reads consecutive little-endian fields, checking each against the bytes that remain.
struct Cursor {
  std::string_view bytes;
  const std::string& origin;
  int64_t offset = 0;

  int64_t remaining() const { return static_cast<int64_t>(bytes.size()) - offset; }
  void need(int64_t count, const std::string& what) const {
    LMSHRINK_CHECK(count >= 0 && count <= remaining(), origin, ": truncated GGUF: ", what, " needs ", count,
                   " bytes at offset ", offset, ", ", remaining(), " remain");
  }
  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    offset += sizeof(T);
    return value;
  }
  std::string read_string(const std::string& what) {
    uint64_t length = read<uint64_t>(what + " length");
    LMSHRINK_CHECK(length <= static_cast<uint64_t>(remaining()), origin, ": truncated GGUF or corrupt length: ", what, " is ", length,
                   " bytes long but only ", remaining(), " bytes of the file remain");
    std::string text(bytes.data() + offset, static_cast<size_t>(length));
    offset += static_cast<int64_t>(length);
    return text;
  }
  // A count of items each at least min_item_bytes long, checked against the bytes that remain.
  int64_t read_count(const std::string& what, int64_t min_item_bytes) {
    uint64_t count = read<uint64_t>(what);
    LMSHRINK_CHECK(count <= static_cast<uint64_t>(remaining() / min_item_bytes), origin, ": truncated GGUF or corrupt count: ", what, " is ", count,
                   " but the ", remaining(), " remaining bytes hold at most ", remaining() / min_item_bytes);
    return static_cast<int64_t>(count);
  }
};

int64_t scalar_bytes(GgufType type) {  // 0 for string and array
  switch (type) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kBool: return 1;
    case GgufType::kUint16: case GgufType::kInt16: return 2;
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kFloat32: return 4;
    case GgufType::kUint64: case GgufType::kInt64: case GgufType::kFloat64: return 8;
    default: return 0;
  }
}

bool is_known_type(uint32_t code) { return code <= static_cast<uint32_t>(GgufType::kFloat64); }

double read_number(Cursor& cursor, GgufType type, const std::string& what) {
  switch (type) {
    case GgufType::kUint8: return cursor.read<uint8_t>(what);
    case GgufType::kInt8: return cursor.read<int8_t>(what);
    case GgufType::kUint16: return cursor.read<uint16_t>(what);
    case GgufType::kInt16: return cursor.read<int16_t>(what);
    case GgufType::kUint32: return cursor.read<uint32_t>(what);
    case GgufType::kInt32: return cursor.read<int32_t>(what);
    case GgufType::kFloat32: return cursor.read<float>(what);
    case GgufType::kUint64: return static_cast<double>(cursor.read<uint64_t>(what));
    case GgufType::kInt64: return static_cast<double>(cursor.read<int64_t>(what));
    case GgufType::kFloat64: return cursor.read<double>(what);
    case GgufType::kBool: {
      uint8_t flag = cursor.read<uint8_t>(what);
      LMSHRINK_CHECK(flag <= 1, cursor.origin, ": ", what, ": a bool must be 0 or 1, got ", int{flag});
      return flag;
    }
    default: fail(cursor.origin, ": ", what, ": not a number type");
  }
}

GgufType read_type(Cursor& cursor, const std::string& what) {
  uint32_t code = cursor.read<uint32_t>(what + " type");
  LMSHRINK_CHECK(is_known_type(code), cursor.origin, ": ", what, ": unknown GGUF value type ", code, " (0-12)");
  return static_cast<GgufType>(code);
}

// Keys and tensor names are printed in errors: control characters are refused (the error stays one line).
std::string read_name(Cursor& cursor, const std::string& what) {
  std::string name = cursor.read_string(what);
  for (unsigned char c : name) {
    LMSHRINK_CHECK(c >= 0x20 && c != 0x7f, cursor.origin, ": a ", what, " holds a control character (\"",
                   gguf_printable(name), "\")");
  }
  return name;
}

GgufValue read_value(Cursor& cursor, const std::string& key) {
  GgufValue value;
  value.type = read_type(cursor, key);
  if (value.type == GgufType::kString) {
    value.text = cursor.read_string(key);
  } else if (value.type != GgufType::kArray) {
    value.number = read_number(cursor, value.type, key);
  } else {
    value.element_type = read_type(cursor, key + " element");
    LMSHRINK_CHECK(value.element_type != GgufType::kArray, cursor.origin, ": ", key, ": arrays of arrays are not supported");
    bool strings = value.element_type == GgufType::kString;
    int64_t count = cursor.read_count(key + " element count", strings ? 8 : scalar_bytes(value.element_type));
    if (strings) {
      value.texts.reserve(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) value.texts.push_back(cursor.read_string(key + " element"));
    } else {
      value.numbers.reserve(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) value.numbers.push_back(read_number(cursor, value.element_type, key));
    }
  }
  return value;
}

// Bytes of a tensor of a supported type; refuses other types naming them. elements was computed without overflow.
int64_t tensor_bytes(const GgufTensorInfo& info, int64_t elements, const std::string& origin) {
  switch (info.type) {
    case GgmlType::kF32: return elements * 4;
    case GgmlType::kF16:
    case GgmlType::kBF16: return elements * 2;
    case GgmlType::kQ8_0:
      LMSHRINK_CHECK(info.shape.back() % 32 == 0, origin, ": tensor ", info.name, ": Q8_0 rows must hold a multiple of ",
                     "32 values, got ", info.shape.back());
      return elements / 32 * 34;
  }
  return 0;
}

GgufTensorInfo read_tensor_info(Cursor& cursor, int64_t file_bytes) {
  GgufTensorInfo info;
  info.name = read_name(cursor, "tensor name");
  uint32_t dims = cursor.read<uint32_t>(info.name + " dimension count");
  LMSHRINK_CHECK(dims >= 1 && dims <= 4, cursor.origin, ": tensor ", info.name, ": ", dims, " dimensions (expected 1-4)");
  int64_t elements = 1;
  for (uint32_t d = 0; d < dims; ++d) {
    uint64_t size = cursor.read<uint64_t>(info.name + " dimension");
    LMSHRINK_CHECK(size >= 1 && size <= static_cast<uint64_t>(file_bytes) &&
                       !__builtin_mul_overflow(elements, static_cast<int64_t>(size), &elements) && elements <= file_bytes,
                   cursor.origin, ": tensor ", info.name, ": dimension ", d, " of ", size, " does not fit the file of ",
                   file_bytes, " bytes");
    info.shape.insert(info.shape.begin(), static_cast<int64_t>(size));
  }
  uint32_t code = cursor.read<uint32_t>(info.name + " type");
  LMSHRINK_CHECK(code == 0 || code == 1 || code == 8 || code == 30, cursor.origin, ": tensor ", info.name, " has type ",
                 ggml_type_name(code), ", which lmshrink cannot dequantise (supported: F32, F16, BF16, Q8_0)");
  info.type = static_cast<GgmlType>(code);
  info.bytes = tensor_bytes(info, elements, cursor.origin);
  uint64_t offset = cursor.read<uint64_t>(info.name + " offset");
  LMSHRINK_CHECK(offset <= static_cast<uint64_t>(file_bytes), cursor.origin, ": tensor ", info.name, ": offset ", offset,
                 " is past the end of the file");
  info.offset = static_cast<int64_t>(offset);
  return info;
}

int64_t read_alignment(const GgufHeader& header, const std::string& origin) {
  auto it = header.metadata.find("general.alignment");
  if (it == header.metadata.end()) return 32;
  const GgufValue& value = it->second;
  LMSHRINK_CHECK(value.type == GgufType::kUint32 && value.number >= 1 && value.number <= (1 << 20) &&
                     (static_cast<int64_t>(value.number) & (static_cast<int64_t>(value.number) - 1)) == 0,
                 origin, ": general.alignment must be a uint32 power of two up to 2^20");
  return static_cast<int64_t>(value.number);
}

// Offsets aligned, tensors inside the data section, none overlapping.
void check_tensor_layout(const GgufHeader& header, int64_t file_bytes, const std::string& origin) {
  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& info : header.tensors) {
    LMSHRINK_CHECK(info.offset % header.alignment == 0, origin, ": tensor ", info.name, ": offset ", info.offset,
                   " is not a multiple of the alignment ", header.alignment);
    LMSHRINK_CHECK(info.bytes <= file_bytes - header.data_offset - info.offset, origin, ": tensor ", info.name, " (",
                   info.bytes, " bytes at data offset ", info.offset, ") runs past the end of the file (", file_bytes,
                   " bytes; truncated?)");
    by_offset.push_back(&info);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    LMSHRINK_CHECK(by_offset[i - 1]->offset + by_offset[i - 1]->bytes <= by_offset[i]->offset, origin, ": tensors ",
                   by_offset[i - 1]->name, " and ", by_offset[i]->name, " overlap");
  }
}

const GgufValue& find_value(const GgufHeader& header, const std::string& key, const std::string& origin) {
  auto it = header.metadata.find(key);
  LMSHRINK_CHECK(it != header.metadata.end(), origin, ": GGUF metadata has no ", key);
  return it->second;
}

}  // namespace

GgufHeader parse_gguf_header(std::string_view file, int64_t file_bytes, const std::string& origin) {
  LMSHRINK_CHECK(file_bytes >= 0 && static_cast<int64_t>(file.size()) <= file_bytes, origin, ": inconsistent file size");
  Cursor cursor{file, origin};
  cursor.need(4, "the magic");
  LMSHRINK_CHECK(file.substr(0, 4) == "GGUF", origin, ": not a GGUF file (expected the magic \"GGUF\")");
  cursor.offset = 4;
  GgufHeader header;
  header.version = cursor.read<uint32_t>("version");
  LMSHRINK_CHECK(header.version == 2 || header.version == 3, origin, ": GGUF version ", header.version,
                 " is not supported (expected 2 or 3)");
  uint64_t tensor_count = cursor.read<uint64_t>("tensor count");
  int64_t kv_count = cursor.read_count("key-value count", 13);  // key length 8 + type 4 + a 1-byte value at least
  for (int64_t i = 0; i < kv_count; ++i) {
    std::string key = read_name(cursor, "metadata key");
    GgufValue value = read_value(cursor, key);
    LMSHRINK_CHECK(header.metadata.emplace(key, std::move(value)).second, origin, ": metadata key ", key, " appears twice");
  }
  LMSHRINK_CHECK(tensor_count <= static_cast<uint64_t>(cursor.remaining() / 32), origin, ": tensor count ", tensor_count,
                 " does not fit the ", cursor.remaining(), " remaining bytes");  // name 8 + dims 4 + 8 + type 4 + offset 8
  std::set<std::string> names;
  for (uint64_t i = 0; i < tensor_count; ++i) {
    header.tensors.push_back(read_tensor_info(cursor, file_bytes));
    LMSHRINK_CHECK(names.insert(header.tensors.back().name).second, origin, ": tensor ", header.tensors.back().name,
                   " appears twice");
  }
  header.alignment = read_alignment(header, origin);
  header.data_offset = (cursor.offset + header.alignment - 1) / header.alignment * header.alignment;
  LMSHRINK_CHECK(header.tensors.empty() || header.data_offset <= file_bytes, origin,
                 ": truncated GGUF: the data section would start at ", header.data_offset, ", past the end of the file");
  check_tensor_layout(header, file_bytes, origin);
  return header;
}

std::string gguf_printable(const std::string& text) {
  std::string shown;
  for (size_t i = 0; i < text.size() && i < 80; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    char escaped[8];
    std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
    shown += c < 0x20 || c == 0x7f ? std::string(escaped) : std::string(1, text[i]);
  }
  return text.size() > 80 ? shown + "..." : shown;
}

std::string ggml_type_name(uint32_t code) {
  static const char* const kNames[] = {"F32", "F16", "Q4_0", "Q4_1", "type 4", "type 5", "Q5_0", "Q5_1", "Q8_0",
                                       "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS",
                                       "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32",
                                       "I64", "F64", "IQ1_M", "BF16", "type 31", "type 32", "type 33", "TQ1_0", "TQ2_0"};
  if (code < sizeof(kNames) / sizeof(kNames[0])) return kNames[code];
  return "type " + std::to_string(code);
}

bool gguf_has(const GgufHeader& header, const std::string& key) { return header.metadata.count(key) > 0; }

int64_t gguf_integer(const GgufHeader& header, const std::string& key, const std::string& origin) {
  const GgufValue& value = find_value(header, key, origin);
  bool integer_type = value.type != GgufType::kFloat32 && value.type != GgufType::kFloat64 &&
                      value.type != GgufType::kString && value.type != GgufType::kArray;
  LMSHRINK_CHECK(integer_type && std::fabs(value.number) < kMaxExactInteger, origin, ": GGUF metadata ", key,
                 " must be an integer");
  return static_cast<int64_t>(value.number);
}

double gguf_float(const GgufHeader& header, const std::string& key, const std::string& origin) {
  const GgufValue& value = find_value(header, key, origin);
  LMSHRINK_CHECK(value.type != GgufType::kString && value.type != GgufType::kArray && std::isfinite(value.number), origin,
                 ": GGUF metadata ", key, " must be a finite number");
  if (value.type != GgufType::kFloat32) return value.number;
  // A float32 as the shortest decimal that reads back to it (1e-5 stays 1e-5, not 9.99999974737875e-06), as a
  // config.json written by the model's authors holds it.
  char text[32];
  auto written = std::to_chars(text, text + sizeof(text), static_cast<float>(value.number));
  return std::strtod(std::string(text, written.ptr).c_str(), nullptr);
}

bool gguf_bool(const GgufHeader& header, const std::string& key, const std::string& origin) {
  const GgufValue& value = find_value(header, key, origin);
  LMSHRINK_CHECK(value.type == GgufType::kBool, origin, ": GGUF metadata ", key, " must be a bool");
  return value.number != 0;
}

const std::string& gguf_string(const GgufHeader& header, const std::string& key, const std::string& origin) {
  const GgufValue& value = find_value(header, key, origin);
  LMSHRINK_CHECK(value.type == GgufType::kString, origin, ": GGUF metadata ", key, " must be a string");
  return value.text;
}

const std::vector<std::string>& gguf_strings(const GgufHeader& header, const std::string& key, const std::string& origin) {
  const GgufValue& value = find_value(header, key, origin);
  LMSHRINK_CHECK(value.type == GgufType::kArray && value.element_type == GgufType::kString, origin, ": GGUF metadata ",
                 key, " must be an array of strings");
  return value.texts;
}

const std::vector<double>& gguf_numbers(const GgufHeader& header, const std::string& key, const std::string& origin) {
  const GgufValue& value = find_value(header, key, origin);
  LMSHRINK_CHECK(value.type == GgufType::kArray && value.element_type != GgufType::kString, origin, ": GGUF metadata ",
                 key, " must be an array of numbers");
  return value.numbers;
}

}  // namespace lmshrink
