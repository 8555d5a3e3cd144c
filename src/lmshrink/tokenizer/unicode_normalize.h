// Unicode normalization forms (NFC, NFD, NFKC, NFKD) through utf8proc, for the tokenizer.json
// normalizers (Qwen2/3 use NFC).
#pragma once
#include <string>
#include <string_view>

namespace lmshrink {

enum class UnicodeForm { NFC, NFD, NFKC, NFKD };

// text in the given form. ASCII-only text is returned as it is; text that is not valid UTF-8 is
// returned unchanged (utf8proc refuses it, and the tokenizer then sees the bytes as they came).
std::string unicode_normalize(std::string_view text, UnicodeForm form);

}  // namespace lmshrink
