// GPT-2 byte-to-unicode map and its inverse (see byte_level.h).
#include "lmshrink/tokenizer/byte_level.h"

#include <array>
#include <cstdint>

#include "lmshrink/tokenizer/utf8.h"

namespace lmshrink::byte_level {
namespace {

bool maps_to_itself(int byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
}

// code_point_of_byte[b]: the character byte b maps to (all below U+0144).
std::array<uint32_t, 256> build_code_points() {
  std::array<uint32_t, 256> code_point_of_byte{};
  uint32_t next_extra = 256;
  for (int byte = 0; byte < 256; ++byte) {
    code_point_of_byte[byte] = maps_to_itself(byte) ? static_cast<uint32_t>(byte) : next_extra++;
  }
  return code_point_of_byte;
}

struct ByteMap {
  std::array<std::string, 256> utf8_of_byte;  // the mapped character of each byte, as UTF-8
  std::array<int16_t, 512> byte_of_code_point;  // inverse; -1 outside the map
  ByteMap() {
    byte_of_code_point.fill(-1);
    std::array<uint32_t, 256> code_points = build_code_points();
    for (int byte = 0; byte < 256; ++byte) {
      utf8::append_code_point(code_points[byte], utf8_of_byte[byte]);
      byte_of_code_point[code_points[byte]] = static_cast<int16_t>(byte);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

}  // namespace

void append_mapped(std::string_view raw, std::string& out) {
  const ByteMap& map = byte_map();
  for (char c : raw) out += map.utf8_of_byte[static_cast<unsigned char>(c)];
}

bool append_unmapped(std::string_view token, std::string& out) {
  const ByteMap& map = byte_map();
  size_t old_size = out.size();
  for (size_t pos = 0; pos < token.size();) {
    size_t length = utf8::char_length_at(token, pos);
    uint32_t code_point = utf8::decode_code_point(token, pos, length);
    int byte = code_point < map.byte_of_code_point.size() ? map.byte_of_code_point[code_point] : -1;
    if (byte < 0) {
      out.resize(old_size);
      return false;
    }
    out += static_cast<char>(byte);
    pos += length;
  }
  return true;
}

}  // namespace lmshrink::byte_level
