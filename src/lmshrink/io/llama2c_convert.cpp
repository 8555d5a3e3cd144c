// llama2.c -> Hugging Face conversion (see llama2c_convert.h).
#include "lmshrink/io/llama2c_convert.h"

#include <algorithm>
#include <filesystem>

#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace fs = std::filesystem;

namespace {

const std::string kMetaspace = "\xE2\x96\x81";  // "▁"

// llama2.c's export writes specials as "\n<s>\n"; spaces are plain ' ' where SentencePiece has '▁'.
std::string hf_piece(const Llama2cTokenizer& tok, int32_t id) {
  if (id == 0) return "<unk>";
  if (id == 1) return "<s>";
  if (id == 2) return "</s>";
  std::string piece;
  for (char ch : tok.piece(id)) {
    if (ch == ' ') piece += kMetaspace;
    else piece += ch;
  }
  return piece;
}

bool is_byte_token(const std::string& piece) {
  return piece.size() == 6 && piece.rfind("<0x", 0) == 0 && piece.back() == '>';
}

nlohmann::json added_token(int32_t id, const std::string& content) {
  return {{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", true}};
}

nlohmann::json derive_merges(const Llama2cTokenizer& tok, const nlohmann::json& vocab) {
  struct Merge {
    float score;
    int32_t merged, left, right;
    std::string left_piece, right_piece;
  };
  std::vector<Merge> merges;
  for (int32_t id = 3; id < tok.vocab_size(); ++id) {
    std::string piece = hf_piece(tok, id);
    if (is_byte_token(piece)) continue;
    for (size_t cut = 1; cut < piece.size(); ++cut) {
      if ((static_cast<unsigned char>(piece[cut]) & 0xC0) == 0x80) continue;  // split between code points only
      std::string left = piece.substr(0, cut), right = piece.substr(cut);
      if (vocab.contains(left) && vocab.contains(right)) {
        merges.push_back({tok.score(id), id, vocab[left].get<int32_t>(), vocab[right].get<int32_t>(), left, right});
      }
    }
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.merged != b.merged) return a.merged < b.merged;
    return std::make_pair(a.left, a.right) < std::make_pair(b.left, b.right);
  });
  nlohmann::json list = nlohmann::json::array();
  for (const Merge& m : merges) list.push_back({m.left_piece, m.right_piece});
  return list;
}

}  // namespace

nlohmann::json llama2c_tokenizer_json(const Llama2cTokenizer& tok) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int32_t id = 0; id < tok.vocab_size(); ++id) {
    std::string piece = hf_piece(tok, id);
    if (!vocab.contains(piece)) vocab[piece] = id;
  }
  nlohmann::json bos_template = {{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}};
  nlohmann::json model = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", "<unk>"},
                          {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                          {"fuse_unk", true}, {"byte_fallback", true}, {"ignore_merges", false},
                          {"vocab", vocab}, {"merges", derive_merges(tok, vocab)}};
  return {
      {"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr},
      {"added_tokens", {added_token(0, "<unk>"), added_token(1, "<s>"), added_token(2, "</s>")}},
      {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "Prepend"}, {"prepend", kMetaspace}},
                                                            {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMetaspace}}}}}},
      {"pre_tokenizer", nullptr},
      {"post_processor", {{"type", "TemplateProcessing"},
                          {"single", {bos_template, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                          {"pair", {bos_template, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                    {{"SpecialToken", {{"id", "<s>"}, {"type_id", 1}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
                          {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "Sequence"}, {"decoders", {{{"type", "Replace"}, {"pattern", {{"String", kMetaspace}}}, {"content", " "}},
                                                       {{"type", "ByteFallback"}}, {{"type", "Fuse"}},
                                                       {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"model", model}};
}

nlohmann::json llama2c_tokenizer_config_json(const Llama2cTokenizer& tok, int64_t context) {
  return {{"add_bos_token", true}, {"add_eos_token", false}, {"bos_token", "<s>"}, {"eos_token", "</s>"},
          {"unk_token", "<unk>"}, {"pad_token", nullptr}, {"model_max_length", context}, {"legacy", true},
          {"clean_up_tokenization_spaces", false}, {"tokenizer_class", "LlamaTokenizerFast"},
          {"vocab_size", tok.vocab_size()}};
}

int64_t convert_llama2c_to_hf(const std::string& checkpoint, const std::string& tokenizer_path,
                              const std::string& out_dir, bool overwrite, const CheckpointFormat& format) {
  std::unique_ptr<Transformer> model = load_llama2c(checkpoint);
  Llama2cTokenizer tok(tokenizer_path);
  LMSHRINK_CHECK(tok.vocab_size() == model->config().vocab_size, tokenizer_path, ": tokenizer has ", tok.vocab_size(),
                 " tokens but ", checkpoint, " has a vocabulary of ", model->config().vocab_size);
  AtomicDirectory out(out_dir, overwrite);
  write_hf_model(*model, out.staging_path(), nlohmann::json::object(), format);
  nlohmann::json tokenizer_json = llama2c_tokenizer_json(tok);
  write_text_atomic((fs::path(out.staging_path()) / "tokenizer.json").string(), tokenizer_json.dump(2) + "\n");
  write_text_atomic((fs::path(out.staging_path()) / "tokenizer_config.json").string(),
                    llama2c_tokenizer_config_json(tok, model->config().max_position_embeddings).dump(2) + "\n");
  out.commit();
  return static_cast<int64_t>(tokenizer_json["model"]["merges"].size());
}

}  // namespace lmshrink
