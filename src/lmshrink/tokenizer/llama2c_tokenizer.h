// llama2.c's tokenizer.bin (run.c build_tokenizer / encode / decode): int32 max_token_length, then
// per token a float32 merge score, an int32 byte length and the piece bytes. Encoding is run.c's:
// BOS, a dummy-prefix " " token when the text is non-empty, one token per UTF-8 code point with byte
// fallback to <0xXX> (id byte + 3), then repeated merging of the adjacent pair whose concatenation
// has the best score (leftmost on ties). run.c rescans the sequence after every merge (quadratic);
// here a heap of candidate pairs gives the same merges in O(n log n), so whole corpora tokenize fast.
#pragma once
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lmshrink/tokenizer/tokenizer.h"

namespace lmshrink {

class Llama2cTokenizer : public Tokenizer {
 public:
  // Reads every entry in the file; vocab_size() is their count.
  explicit Llama2cTokenizer(const std::string& path);
  // The buffer entry point (fuzz/): the file's bytes; origin names it in errors.
  Llama2cTokenizer(std::string_view bytes, const std::string& origin);
  std::vector<int32_t> encode(const std::string& text, bool add_bos, bool add_eos) const override;
  std::string decode_token(int32_t prev_token, int32_t token) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(pieces_.size()); }
  int32_t bos_id() const override { return 1; }
  int32_t eos_id() const override { return 2; }
  const std::string& piece(int32_t id) const { return pieces_.at(id); }
  float score(int32_t id) const { return scores_.at(id); }

 private:
  int32_t lookup(const std::string& piece) const;  // -1 when absent
  void merge_pairs(std::vector<int32_t>& ids) const;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int32_t> piece_to_id_;
  std::string path_;
};

}  // namespace lmshrink
