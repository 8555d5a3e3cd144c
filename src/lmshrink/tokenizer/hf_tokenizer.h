// A Hugging Face tokenizer.json tokenizer with a BPE model: byte-level BPE (GPT-2, Llama-3,
// Qwen2/3) and SentencePiece-style BPE with byte fallback (Llama-2, Mistral). Encoding follows HF
// tokenizers: added tokens are split out first (added_tokens.h), each remaining segment is
// normalized (hf_normalizer.h), pre-tokenized (hf_pre_tokenizer.h) and encoded pre-token by
// pre-token by the BPE model (bpe_model.h); decoding runs the decoder chain (hf_decoder.h).
//
// Special tokens (encode with add_bos / add_eos):
//   - the prefix (BOS side) and suffix (EOS side) come from post_processor: TemplateProcessing
//     "single" (special tokens before / after $A), RobertaProcessing / BertProcessing (cls / sep),
//     ByteLevel (adds none), or a Sequence of these;
//   - tokenizer_config.json beside tokenizer.json overrides them when it sets add_bos_token /
//     add_eos_token (as transformers' LlamaTokenizerFast does): true means [bos_token], false none;
//   - add_eos with no suffix defined appends eos_id() when there is one.
// bos_id() / eos_id() are the ids of tokenizer_config.json's bos_token / eos_token, or -1 when the
// config is absent or the entry is null (Qwen has no BOS: bos_id() == -1).
// vocab_size() is the largest id of the model vocabulary or the added tokens, plus one (Llama-3:
// 128256; Qwen3: 151669, below the 151936 rows of its embedding matrix).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lmshrink/tokenizer/added_tokens.h"
#include "lmshrink/tokenizer/bpe_model.h"
#include "lmshrink/tokenizer/hf_decoder.h"
#include "lmshrink/tokenizer/hf_normalizer.h"
#include "lmshrink/tokenizer/hf_pre_tokenizer.h"
#include "lmshrink/tokenizer/tokenizer.h"

namespace lmshrink {

class HfTokenizer : public Tokenizer {
 public:
  // tokenizer_json_path: a tokenizer.json; tokenizer_config.json in the same folder is read when present.
  explicit HfTokenizer(const std::string& tokenizer_json_path);
  // The buffer entry point (fuzz/fuzz_tokenizer_json.cpp): the two files' texts (config empty: none); origin
  // names them in errors.
  HfTokenizer(std::string_view tokenizer_json, std::string_view tokenizer_config_json, const std::string& origin);
  ~HfTokenizer() override;

  std::vector<int32_t> encode(const std::string& text, bool add_bos, bool add_eos) const override;
  // The text of token after prev_token (-1: none); the decoder's leading-space strip applies only
  // when token starts the text (prev_token is -1 or BOS).
  std::string decode_token(int32_t prev_token, int32_t token) const override;
  // The whole sequence through the decoder chain; a leading BOS is dropped, other special tokens
  // are rendered as their content.
  std::string decode(const std::vector<int32_t>& ids) const override;
  int64_t vocab_size() const override { return vocab_size_; }
  int32_t bos_id() const override { return bos_id_; }
  int32_t eos_id() const override { return eos_id_; }

  // The id of a model or added token, -1 when absent.
  int32_t token_id(std::string_view token) const;
  // The string of id as the vocabulary spells it (added tokens: their content).
  const std::string& token_string(int32_t id) const;
  const std::vector<int32_t>& bos_side_ids() const { return prefix_ids_; }
  const std::vector<int32_t>& eos_side_ids() const { return suffix_ids_; }
  // Drops the per-pre-token cache of the BPE model (for cold-cache benchmarks).
  void clear_cache() const { model_->clear_cache(); }

 private:
  void load(std::string_view tokenizer_json, std::string_view tokenizer_config_json, const std::string& config_origin);
  void read_tokenizer_json(const nlohmann::json& root, const std::string& path);
  void read_added_tokens(const nlohmann::json& added_tokens, const std::string& path);
  int32_t vocabulary_id(const nlohmann::json& value, const std::string& where) const;  // checked, < vocab_size_
  void read_post_processor(const nlohmann::json& spec, const std::string& path, int depth = 0);
  void read_tokenizer_config(const nlohmann::json& config, const std::string& path);
  void encode_segment(std::string_view text, bool at_text_start, std::vector<int32_t>& ids) const;
  void encode_normalized(std::string_view text, bool at_text_start, std::vector<int32_t>& ids) const;

  std::string path_;
  std::unique_ptr<BpeModel> model_;
  HfNormalizer normalizer_;
  HfPreTokenizer pre_tokenizer_;
  HfDecoder decoder_;
  AddedTokenSplitter raw_splitter_;         // special or normalized=false added tokens
  AddedTokenSplitter normalized_splitter_;  // normalized=true added tokens
  StringMap<int32_t> added_id_of_content_;
  std::vector<std::string> added_content_of_id_;  // indexed by id; empty when id is not an added token
  std::vector<int32_t> prefix_ids_;
  std::vector<int32_t> suffix_ids_;
  int32_t bos_id_ = -1;
  int32_t eos_id_ = -1;
  int64_t vocab_size_ = 0;
};

}  // namespace lmshrink
