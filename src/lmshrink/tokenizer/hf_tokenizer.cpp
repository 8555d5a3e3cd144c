// tokenizer.json loading, encoding and decoding (see hf_tokenizer.h).
#include "lmshrink/tokenizer/hf_tokenizer.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "lmshrink/tokenizer/nesting.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/read_file.h"

namespace lmshrink {
namespace {

nlohmann::json parse_json_text(std::string_view text, const std::string& origin) {
  // nlohmann's copies recurse per level: deeper documents are refused while parsing (real files nest < 10 levels).
  auto depth_limit = [&origin](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    LMSHRINK_CHECK(depth <= 4 * kMaxTokenizerNesting, origin, ": JSON nested deeper than ", 4 * kMaxTokenizerNesting, " levels");
    return true;
  };
  try {
    return nlohmann::json::parse(text, depth_limit);
  } catch (const nlohmann::json::parse_error& error) {
    fail(origin, ": malformed JSON (expected a tokenizer JSON object): ", error.what());
  }
}

// A special-token entry of tokenizer_config.json: a string, null, or an AddedToken object.
std::string config_token_string(const nlohmann::json& entry) {
  if (entry.is_string()) return entry.get<std::string>();
  if (entry.is_object() && entry.contains("content")) return entry["content"].get<std::string>();
  return "";
}

}  // namespace

HfTokenizer::HfTokenizer(const std::string& tokenizer_json_path) : path_(tokenizer_json_path) {
  std::string config_path = (std::filesystem::path(tokenizer_json_path).parent_path() / "tokenizer_config.json").string();
  std::string config_text = std::filesystem::exists(config_path) ? read_file_bytes(config_path, "tokenizer_config.json") : "";
  load(read_file_bytes(tokenizer_json_path, "tokenizer.json"), config_text, config_path);
}

HfTokenizer::HfTokenizer(std::string_view tokenizer_json, std::string_view tokenizer_config_json, const std::string& origin)
    : path_(origin) {
  load(tokenizer_json, tokenizer_config_json, origin + " (tokenizer_config.json)");
}

void HfTokenizer::load(std::string_view tokenizer_json, std::string_view tokenizer_config_json, const std::string& config_origin) {
  try {
    read_tokenizer_json(parse_json_text(tokenizer_json, path_), path_);
    if (!tokenizer_config_json.empty()) read_tokenizer_config(parse_json_text(tokenizer_config_json, config_origin), config_origin);
  } catch (const nlohmann::json::exception& error) {  // a field of the wrong JSON type
    fail(path_, ": unexpected tokenizer JSON layout: ", error.what());
  }
}

HfTokenizer::~HfTokenizer() = default;

void HfTokenizer::read_tokenizer_json(const nlohmann::json& root, const std::string& path) {
  LMSHRINK_CHECK(root.is_object() && root.contains("model") && root["model"].is_object(), path,
                 ": expected a tokenizer.json object with a \"model\" section");
  const nlohmann::json& model = root["model"];
  std::string model_type = model.value("type", std::string("BPE"));  // older files omit the BPE type
  LMSHRINK_CHECK(model_type == "BPE", path, ": model.type '", model_type, "' is not supported (expected BPE)");
  model_ = std::make_unique<BpeModel>(model, path);
  normalizer_ = HfNormalizer(root.value("normalizer", nlohmann::json()), path);
  pre_tokenizer_ = HfPreTokenizer(root.value("pre_tokenizer", nlohmann::json()), path);
  model_->set_byte_level(pre_tokenizer_.byte_level());
  decoder_ = HfDecoder(root.value("decoder", nlohmann::json()), path);
  vocab_size_ = model_->id_count();
  read_added_tokens(root.value("added_tokens", nlohmann::json::array()), path);
  read_post_processor(root.value("post_processor", nlohmann::json()), path);
}

void HfTokenizer::read_added_tokens(const nlohmann::json& added_tokens, const std::string& path) {
  LMSHRINK_CHECK(added_tokens.is_array(), path, ": added_tokens: expected an array");
  std::vector<AddedToken> raw_tokens, normalized_tokens;
  for (const nlohmann::json& entry : added_tokens) {
    AddedToken token;
    token.id = checked_token_id(entry.at("id"), path + ": added_tokens");
    token.content = entry.at("content").get<std::string>();
    token.special = entry.value("special", false);
    token.normalized = entry.value("normalized", !token.special);
    token.lstrip = entry.value("lstrip", false);
    token.rstrip = entry.value("rstrip", false);
    token.single_word = entry.value("single_word", false);
    added_id_of_content_[token.content] = token.id;
    if (static_cast<size_t>(token.id) >= added_content_of_id_.size()) added_content_of_id_.resize(token.id + 1);
    added_content_of_id_[token.id] = token.content;
    vocab_size_ = std::max<int64_t>(vocab_size_, token.id + 1);
    (token.special || !token.normalized ? raw_tokens : normalized_tokens).push_back(std::move(token));
  }
  raw_splitter_ = AddedTokenSplitter(std::move(raw_tokens));
  normalized_splitter_ = AddedTokenSplitter(std::move(normalized_tokens));
}

void HfTokenizer::read_post_processor(const nlohmann::json& spec, const std::string& path, int depth) {
  if (spec.is_null()) return;
  LMSHRINK_CHECK(depth <= kMaxTokenizerNesting, path, ": post_processor: Sequence nested deeper than ", kMaxTokenizerNesting);
  std::string type = spec.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const nlohmann::json& inner : spec.at("processors")) read_post_processor(inner, path, depth + 1);
  } else if (type == "ByteLevel") {
    return;  // adjusts offsets only
  } else if (type == "TemplateProcessing") {
    const nlohmann::json& special_tokens = spec.at("special_tokens");
    bool after_sequence = false;
    for (const nlohmann::json& item : spec.at("single")) {
      if (item.contains("Sequence")) {
        after_sequence = true;
        continue;
      }
      std::string name = item.at("SpecialToken").at("id").get<std::string>();
      LMSHRINK_CHECK(special_tokens.contains(name), path, ": post_processor: special token '", name,
                     "' is missing from special_tokens");
      for (const nlohmann::json& id : special_tokens[name].at("ids")) {
        (after_sequence ? suffix_ids_ : prefix_ids_).push_back(vocabulary_id(id, path + ": post_processor"));
      }
    }
  } else if (type == "RobertaProcessing" || type == "BertProcessing") {
    prefix_ids_.push_back(vocabulary_id(spec.at("cls").at(1), path + ": post_processor.cls"));
    suffix_ids_.push_back(vocabulary_id(spec.at("sep").at(1), path + ": post_processor.sep"));
  } else {
    fail(path, ": post_processor type '", type,
         "' is not supported (expected TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing or Sequence)");
  }
}

int32_t HfTokenizer::vocabulary_id(const nlohmann::json& value, const std::string& where) const {
  int32_t id = checked_token_id(value, where);
  LMSHRINK_CHECK(id < vocab_size_, where, ": token id ", id, " is outside the vocabulary of ", vocab_size_);
  return id;
}

void HfTokenizer::read_tokenizer_config(const nlohmann::json& config, const std::string& path) {
  LMSHRINK_CHECK(config.is_object(), path, ": expected a JSON object");
  auto special_id = [&](const char* key) {
    std::string token = config_token_string(config.value(key, nlohmann::json()));
    if (token.empty()) return -1;
    int32_t id = token_id(token);
    LMSHRINK_CHECK(id >= 0, path, ": ", key, " '", token, "' is not a token of ", path_);
    return id;
  };
  bos_id_ = special_id("bos_token");
  eos_id_ = special_id("eos_token");
  if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) {
    bool add_bos = config["add_bos_token"].get<bool>();
    LMSHRINK_CHECK(!add_bos || bos_id_ >= 0, path, ": add_bos_token is true but there is no bos_token");
    prefix_ids_ = add_bos ? std::vector<int32_t>{bos_id_} : std::vector<int32_t>{};
  }
  if (config.contains("add_eos_token") && config["add_eos_token"].is_boolean()) {
    bool add_eos = config["add_eos_token"].get<bool>();
    LMSHRINK_CHECK(!add_eos || eos_id_ >= 0, path, ": add_eos_token is true but there is no eos_token");
    suffix_ids_ = add_eos ? std::vector<int32_t>{eos_id_} : std::vector<int32_t>{};
  }
}

int32_t HfTokenizer::token_id(std::string_view token) const {
  auto it = added_id_of_content_.find(token);
  if (it != added_id_of_content_.end()) return it->second;
  return model_->token_id(token);
}

const std::string& HfTokenizer::token_string(int32_t id) const {
  LMSHRINK_CHECK(id >= 0 && id < vocab_size_, path_, ": token id ", id, " outside the vocabulary of ", vocab_size_);
  if (static_cast<size_t>(id) < added_content_of_id_.size() && !added_content_of_id_[id].empty()) {
    return added_content_of_id_[id];
  }
  static const std::string kNoToken;
  return id < model_->id_count() ? model_->token(id) : kNoToken;
}

// Normalized text -> pre-tokens -> ids, after splitting out normalized added tokens.
void HfTokenizer::encode_normalized(std::string_view text, bool at_text_start, std::vector<int32_t>& ids) const {
  std::vector<TextSegment> segments;
  if (normalized_splitter_.empty()) {
    segments.push_back({0, text.size(), -1});
  } else {
    normalized_splitter_.split(text, segments);
  }
  PreTokens pre_tokens;
  for (const TextSegment& segment : segments) {
    if (segment.added_id >= 0) {
      ids.push_back(segment.added_id);
      continue;
    }
    std::string_view plain = text.substr(segment.begin, segment.end - segment.begin);
    pre_tokenizer_.split(plain, at_text_start && segment.begin == 0, pre_tokens);
    for (std::string_view piece : pre_tokens.pieces) model_->tokenize(piece, ids);
  }
}

void HfTokenizer::encode_segment(std::string_view text, bool at_text_start, std::vector<int32_t>& ids) const {
  if (normalizer_.is_identity()) {
    encode_normalized(text, at_text_start, ids);
  } else {
    encode_normalized(normalizer_.apply(text), at_text_start, ids);
  }
}

std::vector<int32_t> HfTokenizer::encode(const std::string& text, bool add_bos, bool add_eos) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_bos) ids.insert(ids.end(), prefix_ids_.begin(), prefix_ids_.end());
  std::vector<TextSegment> segments;
  raw_splitter_.split(text, segments);
  for (const TextSegment& segment : segments) {
    if (segment.added_id >= 0) {
      ids.push_back(segment.added_id);
    } else {
      std::string_view plain = std::string_view(text).substr(segment.begin, segment.end - segment.begin);
      encode_segment(plain, segment.begin == 0, ids);
    }
  }
  if (add_eos) {
    if (!suffix_ids_.empty()) {
      ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
    } else if (eos_id_ >= 0) {
      ids.push_back(eos_id_);
    }
  }
  return ids;
}

std::string HfTokenizer::decode_token(int32_t prev_token, int32_t token) const {
  bool at_text_start = prev_token < 0 || (bos_id_ >= 0 && prev_token == bos_id_);
  return decoder_.decode({token_string(token)}, at_text_start);
}

std::string HfTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i == 0 && bos_id_ >= 0 && ids[i] == bos_id_) continue;
    tokens.push_back(token_string(ids[i]));
  }
  return decoder_.decode(std::move(tokens), true);
}

}  // namespace lmshrink
