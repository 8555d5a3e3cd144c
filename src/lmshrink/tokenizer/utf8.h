// Small UTF-8 helpers shared by the tokenizer.json pipeline: the length of the character a lead
// byte starts, and encoding one code point.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace lmshrink::utf8 {

// Bytes in the UTF-8 character that starts with lead; 1 for ASCII and for bytes that cannot start
// a character (so a scan over invalid UTF-8 still advances one byte at a time).
inline size_t char_length(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF8) return 4;
  return 1;
}

// Length of the character at text[pos], clipped to the end of text.
inline size_t char_length_at(const std::string_view& text, size_t pos) {
  size_t length = char_length(static_cast<unsigned char>(text[pos]));
  return pos + length <= text.size() ? length : text.size() - pos;
}

inline void append_code_point(uint32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// The code point of the (valid) UTF-8 character of `length` bytes at text[pos].
inline uint32_t decode_code_point(const std::string_view& text, size_t pos, size_t length) {
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(text[pos + i])); };
  if (length == 1) return byte(0);
  if (length == 2) return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
  if (length == 3) return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
  return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
}

}  // namespace lmshrink::utf8
