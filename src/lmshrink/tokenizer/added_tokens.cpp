// Added-token splitting (see added_tokens.h).
#include "lmshrink/tokenizer/added_tokens.h"

#include <algorithm>
#include <cctype>

namespace lmshrink {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// ASCII letters, digits and '_', and every non-ASCII byte (letters of other scripts, roughly).
bool is_word_byte(char c) {
  unsigned char byte = static_cast<unsigned char>(c);
  return byte >= 0x80 || std::isalnum(byte) || c == '_';
}

}  // namespace

AddedTokenSplitter::AddedTokenSplitter(std::vector<AddedToken> tokens) {
  for (AddedToken& token : tokens) {
    if (!token.content.empty()) tokens_.push_back(std::move(token));
  }
  std::stable_sort(tokens_.begin(), tokens_.end(),
                   [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  for (size_t index = 0; index < tokens_.size(); ++index) {
    unsigned char first = static_cast<unsigned char>(tokens_[index].content[0]);
    candidates_of_first_byte_[first].push_back(static_cast<int32_t>(index));
  }
}

const AddedToken* AddedTokenSplitter::match_at(std::string_view text, size_t pos) const {
  for (int32_t index : candidates_of_first_byte_[static_cast<unsigned char>(text[pos])]) {
    const AddedToken& token = tokens_[index];
    if (text.compare(pos, token.content.size(), token.content) != 0) continue;
    if (token.single_word) {
      size_t end = pos + token.content.size();
      bool word_before = pos > 0 && is_word_byte(text[pos - 1]);
      bool word_after = end < text.size() && is_word_byte(text[end]);
      if (word_before || word_after) continue;
    }
    return &token;
  }
  return nullptr;
}

void AddedTokenSplitter::split(std::string_view text, std::vector<TextSegment>& segments) const {
  segments.clear();
  size_t plain_begin = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* token = tokens_.empty() ? nullptr : match_at(text, pos);
    if (token == nullptr) {
      ++pos;
      continue;
    }
    size_t match_begin = pos, match_end = pos + token->content.size();
    if (token->lstrip) {
      while (match_begin > plain_begin && is_space(text[match_begin - 1])) --match_begin;
    }
    if (token->rstrip) {
      while (match_end < text.size() && is_space(text[match_end])) ++match_end;
    }
    if (match_begin > plain_begin) segments.push_back({plain_begin, match_begin, -1});
    segments.push_back({match_begin, match_end, token->id});
    plain_begin = pos = match_end;
  }
  if (text.size() > plain_begin) segments.push_back({plain_begin, text.size(), -1});
}

}  // namespace lmshrink
