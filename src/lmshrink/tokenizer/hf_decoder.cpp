// tokenizer.json decoders (see hf_decoder.h).
#include "lmshrink/tokenizer/hf_decoder.h"

#include <nlohmann/json.hpp>

#include "lmshrink/tokenizer/byte_level.h"
#include "lmshrink/tokenizer/hf_normalizer.h"
#include "lmshrink/tokenizer/nesting.h"
#include "lmshrink/util/error.h"

namespace lmshrink {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The byte a "<0xXX>" token stands for, or -1 for any other token.
int byte_fallback_value(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  int high = hex_value(token[3]), low = hex_value(token[4]);
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

void decode_byte_level(std::vector<std::string>& tokens) {
  for (std::string& token : tokens) {
    std::string bytes;
    if (byte_level::append_unmapped(token, bytes)) token = std::move(bytes);
  }
}

void decode_byte_fallback(std::vector<std::string>& tokens) {
  std::vector<std::string> result;
  std::string pending_bytes;
  bool pending = false;
  for (std::string& token : tokens) {
    int byte = byte_fallback_value(token);
    if (byte >= 0) {
      pending_bytes += static_cast<char>(byte);
      pending = true;
      continue;
    }
    if (pending) result.push_back(std::move(pending_bytes));
    pending_bytes.clear();
    pending = false;
    result.push_back(std::move(token));
  }
  if (pending) result.push_back(std::move(pending_bytes));
  tokens.swap(result);
}

void strip_token(std::string& token, const std::string& character, int start, int stop) {
  if (character.empty()) return;
  for (int i = 0; i < start && token.compare(0, character.size(), character) == 0; ++i) token.erase(0, character.size());
  for (int i = 0; i < stop && token.size() >= character.size() &&
                  token.compare(token.size() - character.size(), character.size(), character) == 0;
       ++i) {
    token.resize(token.size() - character.size());
  }
}

}  // namespace

HfDecoder::HfDecoder(const nlohmann::json& spec, const std::string& path) { add_steps(spec, path); }

HfDecoder::Step HfDecoder::make_step(Kind kind, std::string pattern, std::string content) {
  Step step;
  step.kind = kind;
  step.pattern = std::move(pattern);
  step.content = std::move(content);
  return step;
}

void HfDecoder::add_steps(const nlohmann::json& spec, const std::string& path, int depth) {
  if (spec.is_null()) return;
  LMSHRINK_CHECK(depth <= kMaxTokenizerNesting, path, ": decoder: Sequence nested deeper than ", kMaxTokenizerNesting);
  LMSHRINK_CHECK(spec.is_object() && spec.contains("type"), path, ": decoder: expected an object with a \"type\"");
  std::string type = spec["type"].get<std::string>();
  if (type == "Sequence") {
    for (const nlohmann::json& inner : spec.at("decoders")) add_steps(inner, path, depth + 1);
  } else if (type == "ByteLevel") {
    steps_.push_back(make_step(Kind::kByteLevel));
  } else if (type == "Replace") {
    const nlohmann::json& pattern = spec.at("pattern");
    LMSHRINK_CHECK(pattern.contains("String"), path, ": decoder Replace: only a String pattern is supported");
    steps_.push_back(make_step(Kind::kReplace, pattern["String"].get<std::string>(), spec.at("content").get<std::string>()));
  } else if (type == "ByteFallback") {
    steps_.push_back(make_step(Kind::kByteFallback));
  } else if (type == "Fuse") {
    steps_.push_back(make_step(Kind::kFuse));
  } else if (type == "Strip") {
    Step step = make_step(Kind::kStrip, spec.at("content").get<std::string>());
    auto strip_count = [&](const char* key) {
      nlohmann::json count = spec.value(key, nlohmann::json(0));
      LMSHRINK_CHECK(count.is_number_integer() && count.get<int64_t>() >= 0 && count.get<int64_t>() <= 1 << 20, path,
                     ": decoder Strip: \"", key, "\" must be an integer in [0, 2^20]");
      return static_cast<int>(count.get<int64_t>());
    };
    step.start = strip_count("start");
    step.stop = strip_count("stop");
    steps_.push_back(std::move(step));
  } else if (type == "Metaspace") {
    Step step = make_step(Kind::kMetaspace, spec.value("replacement", std::string("\xE2\x96\x81")));
    if (spec.contains("prepend_scheme")) {
      step.strip_leading_space = spec["prepend_scheme"].get<std::string>() != "never";
    } else {
      step.strip_leading_space = spec.value("add_prefix_space", true);
    }
    steps_.push_back(std::move(step));
  } else {
    fail(path, ": decoder type '", type,
         "' is not supported (expected ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace or Sequence)");
  }
}

void HfDecoder::apply_step(const Step& step, bool at_text_start, std::vector<std::string>& tokens) {
  switch (step.kind) {
    case Kind::kByteLevel:
      decode_byte_level(tokens);
      break;
    case Kind::kReplace:
      for (std::string& token : tokens) token = replace_all(token, step.pattern, step.content);
      break;
    case Kind::kByteFallback:
      decode_byte_fallback(tokens);
      break;
    case Kind::kFuse: {
      std::string fused;
      for (const std::string& token : tokens) fused += token;
      tokens.assign(1, std::move(fused));
      break;
    }
    case Kind::kStrip:
      for (std::string& token : tokens) strip_token(token, step.pattern, at_text_start ? step.start : 0, step.stop);
      break;
    case Kind::kMetaspace:
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = replace_all(tokens[i], step.pattern, " ");
        if (i == 0 && at_text_start && step.strip_leading_space && !tokens[i].empty() && tokens[i][0] == ' ') {
          tokens[i].erase(0, 1);
        }
      }
      break;
  }
}

std::string HfDecoder::decode(std::vector<std::string> tokens, bool at_text_start) const {
  for (const Step& step : steps_) apply_step(step, at_text_start, tokens);
  std::string text;
  for (const std::string& token : tokens) text += token;
  return text;
}

}  // namespace lmshrink
