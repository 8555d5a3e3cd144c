// tokenizer.json pre-tokenizers (see hf_pre_tokenizer.h).
#include "lmshrink/tokenizer/hf_pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include "lmshrink/tokenizer/hf_normalizer.h"
#include "lmshrink/tokenizer/nesting.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

HfPreTokenizer::HfPreTokenizer(const nlohmann::json& spec, const std::string& path) { add_steps(spec, path); }

void HfPreTokenizer::add_steps(const nlohmann::json& spec, const std::string& path, int depth) {
  if (spec.is_null()) return;
  LMSHRINK_CHECK(depth <= kMaxTokenizerNesting, path, ": pre_tokenizer: Sequence nested deeper than ", kMaxTokenizerNesting);
  LMSHRINK_CHECK(spec.is_object() && spec.contains("type"), path, ": pre_tokenizer: expected an object with a \"type\"");
  std::string type = spec["type"].get<std::string>();
  if (type == "Sequence") {
    for (const nlohmann::json& inner : spec.at("pretokenizers")) add_steps(inner, path, depth + 1);
  } else if (type == "Split") {
    add_split(spec, path);
  } else if (type == "ByteLevel") {
    Step step;
  step.kind = Kind::kByteLevel;
    step.add_prefix_space = spec.value("add_prefix_space", false);
    if (spec.value("use_regex", true)) {
      step.regex = std::make_shared<Pcre2Regex>(kGpt2Pattern, path + ": pre_tokenizer ByteLevel");
    }
    steps_.push_back(std::move(step));
    byte_level_ = true;
  } else if (type == "Metaspace") {
    add_metaspace(spec, path);
  } else {
    fail(path, ": pre_tokenizer type '", type, "' is not supported (expected Split, ByteLevel, Metaspace or Sequence)");
  }
}

void HfPreTokenizer::add_split(const nlohmann::json& spec, const std::string& path) {
  Step step;
  step.kind = Kind::kSplit;
  const nlohmann::json& pattern = spec.at("pattern");
  if (pattern.contains("Regex")) {
    step.regex = std::make_shared<Pcre2Regex>(pattern["Regex"].get<std::string>(), path + ": pre_tokenizer Split");
  } else {
    LMSHRINK_CHECK(pattern.contains("String"), path, ": pre_tokenizer Split: expected pattern.Regex or pattern.String");
    step.literal = pattern["String"].get<std::string>();
    LMSHRINK_CHECK(!step.literal.empty(), path, ": pre_tokenizer Split: empty pattern.String");
  }
  LMSHRINK_CHECK(!spec.value("invert", false), path, ": pre_tokenizer Split: invert=true is not supported");
  std::string behavior = spec.value("behavior", std::string("Isolated"));
  if (behavior == "Isolated") {
    step.behavior = Behavior::kIsolated;
  } else if (behavior == "Removed") {
    step.behavior = Behavior::kRemoved;
  } else if (behavior == "MergedWithPrevious") {
    step.behavior = Behavior::kMergedWithPrevious;
  } else if (behavior == "MergedWithNext") {
    step.behavior = Behavior::kMergedWithNext;
  } else {
    fail(path, ": pre_tokenizer Split: behavior '", behavior,
         "' is not supported (expected Isolated, Removed, MergedWithPrevious or MergedWithNext)");
  }
  steps_.push_back(std::move(step));
}

void HfPreTokenizer::add_metaspace(const nlohmann::json& spec, const std::string& path) {
  Step step;
  step.kind = Kind::kMetaspace;
  step.literal = spec.value("replacement", std::string("\xE2\x96\x81"));
  LMSHRINK_CHECK(!step.literal.empty(), path, ": pre_tokenizer Metaspace: empty replacement");
  step.split = spec.value("split", true);
  if (spec.contains("prepend_scheme")) {
    std::string scheme = spec["prepend_scheme"].get<std::string>();
    if (scheme == "always") {
      step.prepend = Prepend::kAlways;
    } else if (scheme == "first") {
      step.prepend = Prepend::kFirst;
    } else if (scheme == "never") {
      step.prepend = Prepend::kNever;
    } else {
      fail(path, ": pre_tokenizer Metaspace: prepend_scheme '", scheme, "' (expected always, first or never)");
    }
  } else {
    step.prepend = spec.value("add_prefix_space", true) ? Prepend::kAlways : Prepend::kNever;
  }
  steps_.push_back(std::move(step));
}

void HfPreTokenizer::find_matches(const Step& step, std::string_view piece, std::vector<ByteSpan>& matches) {
  matches.clear();
  if (step.regex) {
    step.regex->find_all(piece, matches);
    return;
  }
  for (size_t pos = piece.find(step.literal); pos != std::string_view::npos;
       pos = piece.find(step.literal, pos + step.literal.size())) {
    matches.push_back({pos, pos + step.literal.size()});
  }
}

// Appends the sub-pieces of piece under step's matches and behavior (empty ones dropped).
void HfPreTokenizer::split_piece(const Step& step, std::string_view piece, std::vector<ByteSpan>& matches,
                                 std::vector<std::string_view>& out) {
  find_matches(step, piece, matches);
  auto emit = [&](size_t begin, size_t end) {
    if (end > begin) out.push_back(piece.substr(begin, end - begin));
  };
  size_t pos = 0;  // start of the text not yet emitted
  for (const ByteSpan& match : matches) {
    switch (step.behavior) {
      case Behavior::kIsolated:
        emit(pos, match.begin);
        emit(match.begin, match.end);
        pos = match.end;
        break;
      case Behavior::kRemoved:
        emit(pos, match.begin);
        pos = match.end;
        break;
      case Behavior::kMergedWithPrevious:
        emit(pos, match.end);
        pos = match.end;
        break;
      case Behavior::kMergedWithNext:
        emit(pos, match.begin);
        pos = match.begin;
        break;
    }
  }
  emit(pos, piece.size());
}

void HfPreTokenizer::apply_byte_level(const Step& step, PreTokens& tokens, std::vector<ByteSpan>& matches) {
  if (step.add_prefix_space) {
    for (std::string_view& piece : tokens.pieces) {
      if (piece.empty() || piece[0] == ' ') continue;
      std::string& prefixed = tokens.storage.emplace_back(1, ' ');
      prefixed.append(piece);
      piece = prefixed;
    }
  }
  if (!step.regex) return;
  tokens.scratch.clear();
  for (std::string_view piece : tokens.pieces) split_piece(step, piece, matches, tokens.scratch);
  tokens.pieces.swap(tokens.scratch);
}

void HfPreTokenizer::apply_metaspace(const Step& step, bool at_text_start, PreTokens& tokens,
                                     std::vector<ByteSpan>& matches) {
  const std::string& replacement = step.literal;
  for (size_t index = 0; index < tokens.pieces.size(); ++index) {
    std::string text = replace_all(tokens.pieces[index], " ", replacement);
    bool starts_with_replacement = text.compare(0, replacement.size(), replacement) == 0;
    bool prepend = step.prepend == Prepend::kAlways || (step.prepend == Prepend::kFirst && at_text_start && index == 0);
    if (prepend && !starts_with_replacement) text = replacement + text;
    tokens.storage.push_back(std::move(text));
    tokens.pieces[index] = tokens.storage.back();
  }
  if (!step.split) return;
  Step split_step;
  split_step.kind = Kind::kSplit;
  split_step.literal = replacement;
  split_step.behavior = Behavior::kMergedWithNext;
  tokens.scratch.clear();
  for (std::string_view piece : tokens.pieces) split_piece(split_step, piece, matches, tokens.scratch);
  tokens.pieces.swap(tokens.scratch);
}

void HfPreTokenizer::split(std::string_view segment, bool at_text_start, PreTokens& out) const {
  out.pieces.clear();
  out.storage.clear();
  if (segment.empty()) return;
  out.pieces.push_back(segment);
  std::vector<ByteSpan> matches;
  for (const Step& step : steps_) {
    if (step.kind == Kind::kSplit) {
      out.scratch.clear();
      for (std::string_view piece : out.pieces) split_piece(step, piece, matches, out.scratch);
      out.pieces.swap(out.scratch);
    } else if (step.kind == Kind::kByteLevel) {
      apply_byte_level(step, out, matches);
    } else {
      apply_metaspace(step, at_text_start, out, matches);
    }
  }
}

}  // namespace lmshrink
