// A GGUF's tokenizer metadata as lmshrink tokenizer files (see gguf_tokenizer.h).
#include "lmshrink/io/gguf_tokenizer.h"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/tokenizer/hf_tokenizer.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/read_file.h"

namespace lmshrink {

namespace {

using namespace gguf_token;

const char* kWordBoundary = "\xe2\x96\x81";  // U+2581, SentencePiece's word boundary

const char* kLlama3Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
const char* kQwen2Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";

std::vector<int32_t> token_types(const GgufHeader& header, size_t count, const std::string& origin) {
  std::vector<int32_t> types(count, kNormal);
  if (!gguf_has(header, "tokenizer.ggml.token_type")) return types;
  const std::vector<double>& stored = gguf_numbers(header, "tokenizer.ggml.token_type", origin);
  LMSHRINK_CHECK(stored.size() == count, origin, ": tokenizer.ggml.token_type has ", stored.size(), " entries for ",
                 count, " tokens");
  for (size_t i = 0; i < count; ++i) types[i] = static_cast<int32_t>(stored[i]);
  return types;
}

int64_t optional_id(const GgufHeader& header, const std::string& key, const std::string& origin) {
  return gguf_has(header, key) ? gguf_integer(header, key, origin) : -1;
}

bool optional_flag(const GgufHeader& header, const std::string& key, bool fallback, const std::string& origin) {
  return gguf_has(header, key) ? gguf_bool(header, key, origin) : fallback;
}

template <typename T>
void append(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

// "llama" vocabularies as llama2.c's tokenizer.bin.
std::string spm_tokenizer_bin(const GgufHeader& header, const std::string& origin) {
  const std::vector<std::string>& tokens = gguf_strings(header, "tokenizer.ggml.tokens", origin);
  const std::vector<double>& scores = gguf_numbers(header, "tokenizer.ggml.scores", origin);
  LMSHRINK_CHECK(scores.size() == tokens.size(), origin, ": tokenizer.ggml.scores has ", scores.size(), " entries for ",
                 tokens.size(), " tokens");
  std::vector<int32_t> types = token_types(header, tokens.size(), origin);
  LMSHRINK_CHECK(optional_id(header, "tokenizer.ggml.bos_token_id", origin) == 1 &&
                     optional_id(header, "tokenizer.ggml.eos_token_id", origin) == 2,
                 origin, ": a \"llama\" (SentencePiece) vocabulary is read with BOS id 1 and EOS id 2, as llama2.c's; "
                 "this one has other ids");
  std::string pieces;
  size_t max_length = 1;
  for (size_t id = 0; id < tokens.size(); ++id) {
    std::string piece = tokens[id];
    if (types[id] == kNormal || types[id] == kUserDefined) piece = word_boundaries_to_spaces(piece);
    max_length = std::max(max_length, piece.size());
    append<float>(pieces, static_cast<float>(scores[id]));
    append<int32_t>(pieces, static_cast<int32_t>(piece.size()));
    pieces += piece;
  }
  LMSHRINK_CHECK(max_length < 4096, origin, ": a token of ", max_length, " bytes is longer than a vocabulary allows");
  std::string bytes;
  append<int32_t>(bytes, static_cast<int32_t>(max_length));
  return bytes + pieces;
}

nlohmann::json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", use_regex}};
}

// The normalizer, pre-tokenizer and decoder of llama.cpp's pre-tokenizer names.
void add_pre_tokenizer(nlohmann::json& root, const std::string& pre, const std::string& origin) {
  auto split = [](const char* regex) {
    nlohmann::json rule = {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
    return nlohmann::json{{"type", "Sequence"}, {"pretokenizers", {rule, byte_level(false)}}};
  };
  root["normalizer"] = nullptr;
  if (pre == "llama-bpe") {
    root["pre_tokenizer"] = split(kLlama3Split);
  } else if (pre == "qwen2") {
    root["normalizer"] = {{"type", "NFC"}};
    root["pre_tokenizer"] = split(kQwen2Split);
  } else if (pre == "default" || pre == "gpt-2") {
    root["pre_tokenizer"] = byte_level(true);
  } else {
    fail(origin, ": tokenizer.ggml.pre \"", gguf_printable(pre), "\" is not supported (llama-bpe, qwen2, gpt-2, default)");
  }
  root["decoder"] = byte_level(false);
}

// "gpt2" vocabularies as tokenizer.json + tokenizer_config.json.
void bpe_tokenizer_json(const GgufHeader& header, const std::string& origin, GgufTokenizerFiles& files) {
  const std::vector<std::string>& tokens = gguf_strings(header, "tokenizer.ggml.tokens", origin);
  std::vector<int32_t> types = token_types(header, tokens.size(), origin);
  std::string pre = gguf_has(header, "tokenizer.ggml.pre") ? gguf_string(header, "tokenizer.ggml.pre", origin) : "default";
  nlohmann::json vocab = nlohmann::json::object(), added = nlohmann::json::array();
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (types[id] == kControl || types[id] == kUserDefined) {
      added.push_back({{"id", id}, {"content", tokens[id]}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", false}, {"special", types[id] == kControl}});
    } else if (types[id] != kUnused) {
      vocab[tokens[id]] = id;
    }
  }
  nlohmann::json root = {{"version", "1.0"}, {"added_tokens", added}, {"post_processor", nullptr}};
  add_pre_tokenizer(root, pre, origin);
  root["model"] = {{"type", "BPE"}, {"byte_fallback", false}, {"ignore_merges", pre == "llama-bpe"},
                   {"vocab", vocab}, {"merges", gguf_strings(header, "tokenizer.ggml.merges", origin)}};
  nlohmann::json config = nlohmann::json::object();
  int64_t bos = optional_id(header, "tokenizer.ggml.bos_token_id", origin);
  int64_t eos = optional_id(header, "tokenizer.ggml.eos_token_id", origin);
  for (int64_t id : {bos, eos}) {
    LMSHRINK_CHECK(id < static_cast<int64_t>(tokens.size()), origin, ": special token id ", id, " is not in the vocabulary");
  }
  config["bos_token"] = bos >= 0 ? nlohmann::json(tokens[bos]) : nlohmann::json();
  config["eos_token"] = eos >= 0 ? nlohmann::json(tokens[eos]) : nlohmann::json();
  config["add_bos_token"] = bos >= 0 && optional_flag(header, "tokenizer.ggml.add_bos_token", false, origin);
  config["add_eos_token"] = eos >= 0 && optional_flag(header, "tokenizer.ggml.add_eos_token", false, origin);
  files.tokenizer_json = root.dump();
  files.tokenizer_config_json = config.dump();
}

GgufHeader read_header(const std::string& path) {
  std::shared_ptr<MappedFile> file = map_file(path, "GGUF file");
  std::string_view bytes(reinterpret_cast<const char*>(file->address), static_cast<size_t>(file->bytes));
  return parse_gguf_header(bytes, file->bytes, path);
}

}  // namespace

bool is_byte_piece(const std::string& piece) {
  return piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>' && std::isxdigit(piece[3]) &&
         std::isxdigit(piece[4]);
}

std::string spaces_to_word_boundaries(const std::string& piece) {
  std::string marked;
  for (char c : piece) c == ' ' ? marked += kWordBoundary : marked += c;
  return marked;
}

std::string word_boundaries_to_spaces(const std::string& piece) {
  std::string spaced;
  for (size_t at = 0; at < piece.size();) {
    bool boundary = piece.compare(at, 3, kWordBoundary) == 0;
    spaced += boundary ? std::string(" ") : piece.substr(at, 1);
    at += boundary ? 3 : 1;
  }
  return spaced;
}

bool is_gguf_path(const std::string& path) {
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".gguf") == 0;
}

GgufTokenizerFiles gguf_tokenizer_files(const GgufHeader& header, const std::string& origin) {
  LMSHRINK_CHECK(gguf_has(header, "tokenizer.ggml.model"), origin, ": the GGUF carries no tokenizer (tokenizer.ggml.model); "
                 "pass --tokenizer");
  const std::string& model = gguf_string(header, "tokenizer.ggml.model", origin);
  GgufTokenizerFiles files;
  if (model == "llama") {
    files.tokenizer_bin = spm_tokenizer_bin(header, origin);
  } else if (model == "gpt2") {
    bpe_tokenizer_json(header, origin, files);
  } else {
    fail(origin, ": tokenizer.ggml.model \"", gguf_printable(model), "\" is not supported (llama, gpt2)");
  }
  return files;
}

std::unique_ptr<Tokenizer> gguf_tokenizer(const GgufHeader& header, const std::string& origin) {
  GgufTokenizerFiles files = gguf_tokenizer_files(header, origin);
  if (!files.tokenizer_bin.empty()) return std::make_unique<Llama2cTokenizer>(files.tokenizer_bin, origin);
  return std::make_unique<HfTokenizer>(files.tokenizer_json, files.tokenizer_config_json, origin);
}

std::unique_ptr<Tokenizer> read_gguf_tokenizer(const std::string& path) { return gguf_tokenizer(read_header(path), path); }

void write_gguf_tokenizer_files(const std::string& path, const std::string& dir) {
  namespace fs = std::filesystem;
  GgufTokenizerFiles files = gguf_tokenizer_files(read_header(path), path);
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream out(fs::path(dir) / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    LMSHRINK_CHECK(out.good(), (fs::path(dir) / name).string(), ": cannot write the tokenizer");
  };
  if (!files.tokenizer_bin.empty()) {
    write("tokenizer.bin", files.tokenizer_bin);
  } else {
    write("tokenizer.json", files.tokenizer_json);
    write("tokenizer_config.json", files.tokenizer_config_json);
  }
}

std::string tokenizer_json_text(const std::string& tokenizer_file) {
  if (!is_gguf_path(tokenizer_file)) return read_file_bytes(tokenizer_file, "tokenizer");
  GgufTokenizerFiles files = gguf_tokenizer_files(read_header(tokenizer_file), tokenizer_file);
  LMSHRINK_CHECK(!files.tokenizer_json.empty(), tokenizer_file, ": its tokenizer is not a byte-level BPE vocabulary");
  return files.tokenizer_json;
}

}  // namespace lmshrink
