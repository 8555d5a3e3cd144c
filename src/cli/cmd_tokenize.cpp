// lmshrink tokenize TOK: token ids for text (or text for ids with --decode).
#include <cstdio>
#include <sstream>

#include "cli/commands.h"
#include "lmshrink/tokenizer/load.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

struct TokenizeArgs {
  std::string tokenizer, text, file, jsonl;
  bool bos = false, eos = false, json = false, decode = false;
};

std::string ids_line(const std::vector<int32_t>& ids, bool json) {
  if (json) return nlohmann::json(ids).dump();
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
  return line;
}

std::vector<int32_t> parse_ids(const std::string& text, const Tokenizer& tokenizer) {
  std::vector<int32_t> ids;
  std::string cleaned = text;
  for (char& c : cleaned) {
    if (c == '[' || c == ']' || c == ',') c = ' ';
  }
  std::istringstream in(cleaned);
  std::string word;
  while (in >> word) {
    char* end = nullptr;
    long id = std::strtol(word.c_str(), &end, 10);
    LMSHRINK_CHECK(*end == '\0', "--decode: '", word, "' is not a token id");
    LMSHRINK_CHECK(id >= 0 && id < tokenizer.vocab_size(), "--decode: token id ", id, " outside the vocabulary of ",
                   tokenizer.vocab_size());
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

void run_tokenize(const TokenizeArgs& a) {
  int sources = !a.text.empty() + !a.file.empty() + !a.jsonl.empty();
  LMSHRINK_CHECK(sources == 1, "tokenize: give exactly one of --text, --file, --jsonl");
  std::unique_ptr<Tokenizer> loaded = load_tokenizer_file(a.tokenizer);
  const Tokenizer& tokenizer = *loaded;
  if (!a.jsonl.empty()) {
    std::istringstream lines(read_text_file(a.jsonl, "--jsonl"));
    std::string line;
    int64_t line_number = 0;
    while (std::getline(lines, line)) {
      ++line_number;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
      LMSHRINK_CHECK(!record.is_discarded() && record.is_object() && record.contains("text") && record["text"].is_string(),
                     "--jsonl ", a.jsonl, ":", line_number, ": expected a JSON object with a string field \"text\"");
      std::printf("%s\n", ids_line(tokenizer.encode(record["text"].get<std::string>(), a.bos, a.eos), true).c_str());
    }
    return;
  }
  std::string input = a.text.empty() ? read_text_file(a.file, "--file", false) : a.text;
  if (a.decode) {
    std::string text = tokenizer.decode(parse_ids(input, tokenizer));
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::printf("\n");
    return;
  }
  std::printf("%s\n", ids_line(tokenizer.encode(input, a.bos, a.eos), a.json).c_str());
}

}  // namespace

Command add_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Token ids for text, or text for ids (--decode)");
  cmd->add_option("tokenizer", args->tokenizer, "tokenizer.json, llama2.c tokenizer.bin, or a model folder holding tokenizer.json")->required();
  cmd->add_option("--text", args->text, "text to encode (or ids to decode)");
  cmd->add_option("--file", args->file, "file to encode (or ids to decode)");
  cmd->add_option("--jsonl", args->jsonl, "encode the \"text\" field of every line; one JSON array per line");
  cmd->add_flag("--bos", args->bos, "prepend BOS");
  cmd->add_flag("--eos", args->eos, "append EOS");
  cmd->add_flag("--json", args->json, "print a JSON array instead of space-separated ids");
  cmd->add_flag("--decode", args->decode, "the input is token ids; print their text");
  return [args] { run_tokenize(*args); };
}

}  // namespace lmshrink::cli
