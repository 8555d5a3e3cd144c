// PCRE2 wrapper (see pcre_regex.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "lmshrink/tokenizer/pcre_regex.h"

#include <pcre2.h>

#include "lmshrink/tokenizer/utf8.h"
#include "lmshrink/util/error.h"

namespace lmshrink {
namespace {

std::string pcre2_message(int error_code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(error_code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

Pcre2Regex::Pcre2Regex(const std::string& pattern, const std::string& where) : where_(where) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error_code,
                        &error_offset, nullptr);
  LMSHRINK_CHECK(code_ != nullptr, where, ": regex '", pattern, "' does not compile at offset ", error_offset, ": ",
                 pcre2_message(error_code));
  jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
}

Pcre2Regex::~Pcre2Regex() { pcre2_code_free(code_); }

void Pcre2Regex::find_all(std::string_view text, std::vector<ByteSpan>& matches) const {
  pcre2_match_data* match_data = pcre2_match_data_create_from_pattern(code_, nullptr);
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = 0;
  while (offset <= text.size()) {
    int rc = jit_ ? pcre2_jit_match(code_, subject, text.size(), offset, 0, match_data, nullptr)
                  : pcre2_match(code_, subject, text.size(), offset, 0, match_data, nullptr);
    // A long run of one character class can exhaust the default JIT stack; the interpreter has none.
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
      rc = pcre2_match(code_, subject, text.size(), offset, PCRE2_NO_JIT, match_data, nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_data_free(match_data);
      fail(where_, ": regex match failed: ", pcre2_message(rc));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data);
    size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      matches.push_back({begin, end});
      offset = end;
    } else if (begin < text.size()) {
      offset = begin + utf8::char_length_at(text, begin);  // skip an empty match by one character
    } else {
      break;
    }
  }
  pcre2_match_data_free(match_data);
}

}  // namespace lmshrink
