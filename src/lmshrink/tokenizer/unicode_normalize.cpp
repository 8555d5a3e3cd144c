// Unicode normalization through utf8proc_map (see unicode_normalize.h).
#include "lmshrink/tokenizer/unicode_normalize.h"

#include <utf8proc.h>

#include <cstdlib>

namespace lmshrink {
namespace {

bool is_ascii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

utf8proc_option_t options_for(UnicodeForm form) {
  int options = UTF8PROC_STABLE;
  switch (form) {
    case UnicodeForm::NFC: options |= UTF8PROC_COMPOSE; break;
    case UnicodeForm::NFD: options |= UTF8PROC_DECOMPOSE; break;
    case UnicodeForm::NFKC: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case UnicodeForm::NFKD: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
  }
  return static_cast<utf8proc_option_t>(options);
}

}  // namespace

std::string unicode_normalize(std::string_view text, UnicodeForm form) {
  if (text.empty() || is_ascii(text)) return std::string(text);
  utf8proc_uint8_t* normalized = nullptr;
  utf8proc_ssize_t length = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                         static_cast<utf8proc_ssize_t>(text.size()), &normalized, options_for(form));
  if (length < 0) return std::string(text);
  std::string result(reinterpret_cast<const char*>(normalized), static_cast<size_t>(length));
  std::free(normalized);
  return result;
}

}  // namespace lmshrink
