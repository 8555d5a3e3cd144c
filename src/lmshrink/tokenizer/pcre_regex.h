// A compiled PCRE2 regex that lists the spans of all its matches, for the Split pre-tokenizer, the
// GPT-2 ByteLevel split and regex Replace normalizers of tokenizer.json. Compiled with PCRE2_UTF and
// PCRE2_UCP (\s, \w, \p{L} are Unicode-aware, as in the Rust/Oniguruma regexes of HF tokenizers) and
// PCRE2_MATCH_INVALID_UTF (bytes that are not UTF-8 never match instead of failing), JIT when the
// library has it.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace lmshrink {

struct ByteSpan {
  size_t begin = 0;
  size_t end = 0;
};

class Pcre2Regex {
 public:
  // where names the source for error messages (e.g. "tokenizer.json: pre_tokenizer Split").
  Pcre2Regex(const std::string& pattern, const std::string& where);
  ~Pcre2Regex();
  Pcre2Regex(const Pcre2Regex&) = delete;
  Pcre2Regex& operator=(const Pcre2Regex&) = delete;

  // Appends the spans of the successive non-overlapping, non-empty matches in text, left to right.
  void find_all(std::string_view text, std::vector<ByteSpan>& matches) const;

 private:
  pcre2_real_code_8* code_ = nullptr;
  bool jit_ = false;
  std::string where_;
};

}  // namespace lmshrink
