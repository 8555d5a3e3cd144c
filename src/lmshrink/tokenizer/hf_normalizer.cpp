// tokenizer.json normalizers (see hf_normalizer.h).
#include "lmshrink/tokenizer/hf_normalizer.h"

#include <nlohmann/json.hpp>

#include "lmshrink/tokenizer/nesting.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

std::string replace_all(std::string_view text, std::string_view pattern, std::string_view content) {
  if (pattern.empty()) return std::string(text);
  std::string result;
  result.reserve(text.size());
  size_t pos = 0;
  while (true) {
    size_t found = text.find(pattern, pos);
    if (found == std::string_view::npos) break;
    result.append(text.substr(pos, found - pos));
    result.append(content);
    pos = found + pattern.size();
  }
  result.append(text.substr(pos));
  return result;
}

HfNormalizer::HfNormalizer(const nlohmann::json& spec, const std::string& path) { add_steps(spec, path); }

void HfNormalizer::add_steps(const nlohmann::json& spec, const std::string& path, int depth) {
  if (spec.is_null()) return;
  LMSHRINK_CHECK(depth <= kMaxTokenizerNesting, path, ": normalizer: Sequence nested deeper than ", kMaxTokenizerNesting);
  LMSHRINK_CHECK(spec.is_object() && spec.contains("type"), path, ": normalizer: expected an object with a \"type\"");
  std::string type = spec["type"].get<std::string>();
  if (type == "Sequence") {
    for (const nlohmann::json& inner : spec.at("normalizers")) add_steps(inner, path, depth + 1);
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    UnicodeForm form = type == "NFC" ? UnicodeForm::NFC
                       : type == "NFD" ? UnicodeForm::NFD
                       : type == "NFKC" ? UnicodeForm::NFKC
                                        : UnicodeForm::NFKD;
    steps_.push_back({Kind::kUnicode, form, "", "", nullptr});
  } else if (type == "Prepend") {
    steps_.push_back({Kind::kPrepend, UnicodeForm::NFC, spec.at("prepend").get<std::string>(), "", nullptr});
  } else if (type == "Replace") {
    const nlohmann::json& pattern = spec.at("pattern");
    Step step{Kind::kReplace, UnicodeForm::NFC, "", spec.at("content").get<std::string>(), nullptr};
    if (pattern.contains("String")) {
      step.text = pattern["String"].get<std::string>();
    } else {
      LMSHRINK_CHECK(pattern.contains("Regex"), path, ": normalizer Replace: expected pattern.String or pattern.Regex");
      step.regex = std::make_shared<Pcre2Regex>(pattern["Regex"].get<std::string>(), path + ": normalizer Replace");
    }
    steps_.push_back(std::move(step));
  } else {
    fail(path, ": normalizer type '", type, "' is not supported (expected NFC, NFD, NFKC, NFKD, Prepend, Replace or Sequence)");
  }
}

std::string HfNormalizer::apply_step(const Step& step, std::string text) {
  switch (step.kind) {
    case Kind::kUnicode:
      return unicode_normalize(text, step.form);
    case Kind::kPrepend:
      return text.empty() ? text : step.text + text;
    case Kind::kReplace:
      if (!step.regex) return replace_all(text, step.text, step.content);
      std::vector<ByteSpan> matches;
      step.regex->find_all(text, matches);
      std::string result;
      size_t pos = 0;
      for (const ByteSpan& match : matches) {
        result.append(text, pos, match.begin - pos);
        result.append(step.content);
        pos = match.end;
      }
      result.append(text, pos, std::string::npos);
      return result;
  }
  return text;
}

std::string HfNormalizer::apply(std::string_view text) const {
  std::string result(text);
  for (const Step& step : steps_) result = apply_step(step, std::move(result));
  return result;
}

}  // namespace lmshrink
