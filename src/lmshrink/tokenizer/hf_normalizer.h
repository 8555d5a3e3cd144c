// The "normalizer" section of tokenizer.json as a list of steps applied in order: NFC / NFD / NFKC /
// NFKD (utf8proc), Prepend (Llama-2's "▁"; only to non-empty text), Replace (a String or Regex
// pattern, every occurrence), and Sequence of these. null is the identity. Any other type is refused
// with an lmshrink::Error naming it.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "lmshrink/tokenizer/pcre_regex.h"
#include "lmshrink/tokenizer/unicode_normalize.h"

namespace lmshrink {

class HfNormalizer {
 public:
  HfNormalizer() = default;
  HfNormalizer(const nlohmann::json& spec, const std::string& path);
  bool is_identity() const { return steps_.empty(); }
  std::string apply(std::string_view text) const;

 private:
  enum class Kind { kUnicode, kPrepend, kReplace };
  struct Step {
    Kind kind;
    UnicodeForm form = UnicodeForm::NFC;
    std::string text;                    // Prepend: the prefix; Replace: the literal pattern
    std::string content;                 // Replace: the replacement
    std::shared_ptr<Pcre2Regex> regex;   // Replace with a Regex pattern
  };
  void add_steps(const nlohmann::json& spec, const std::string& path, int depth = 0);  // depth: Sequence nesting
  static std::string apply_step(const Step& step, std::string text);

  std::vector<Step> steps_;
};

// Replaces every occurrence of pattern (non-empty) in text by content.
std::string replace_all(std::string_view text, std::string_view pattern, std::string_view content);

}  // namespace lmshrink
