// added_tokens of tokenizer.json: tokens matched in the text as whole strings before the model sees
// it (special tokens such as <|begin_of_text|>, and extra tokens such as Qwen's <tool_call>). As in HF
// tokenizers' AddedVocabulary, tokens with normalized=false (and every special token) are split out of
// the raw text before normalization; tokens with normalized=true are split out of each normalized
// segment. Matching is leftmost-longest. lstrip / rstrip make a match swallow the whitespace on its
// left / right; single_word accepts a match only when no word character touches it.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmshrink {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool normalized = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

// One piece of a split text: plain text [begin, end), or a matched added token (added_id >= 0).
struct TextSegment {
  size_t begin = 0;
  size_t end = 0;
  int32_t added_id = -1;
};

class AddedTokenSplitter {
 public:
  AddedTokenSplitter() = default;
  explicit AddedTokenSplitter(std::vector<AddedToken> tokens);
  bool empty() const { return tokens_.empty(); }
  // Replaces segments with the split of text; plain segments are never empty.
  void split(std::string_view text, std::vector<TextSegment>& segments) const;

 private:
  // The token matching at pos (longest first), or nullptr.
  const AddedToken* match_at(std::string_view text, size_t pos) const;

  std::vector<AddedToken> tokens_;                       // longest content first
  std::array<std::vector<int32_t>, 256> candidates_of_first_byte_;  // indices into tokens_
};

}  // namespace lmshrink
