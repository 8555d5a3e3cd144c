// llama2.c tokenizer.bin reader, encoder and decoder (see llama2c_tokenizer.h).
#include "lmshrink/tokenizer/llama2c_tokenizer.h"

#include <cstdio>
#include <cstring>
#include <queue>

#include "lmshrink/util/error.h"
#include "lmshrink/util/read_file.h"

namespace lmshrink {

Llama2cTokenizer::Llama2cTokenizer(const std::string& path)
    : Llama2cTokenizer(read_file_bytes(path, "tokenizer"), path) {}

Llama2cTokenizer::Llama2cTokenizer(std::string_view bytes, const std::string& origin) : path_(origin) {
  size_t at = 0;
  auto take_int32 = [&](int32_t& value) {
    if (bytes.size() - at < 4) return false;
    std::memcpy(&value, bytes.data() + at, 4);
    at += 4;
    return true;
  };
  int32_t max_token_length = 0;
  LMSHRINK_CHECK(take_int32(max_token_length) && max_token_length > 0 && max_token_length < 4096, origin,
                 ": not a llama2.c tokenizer.bin (bad max_token_length header)");
  while (at < bytes.size()) {
    float score = 0;
    int32_t length = -1;
    LMSHRINK_CHECK(bytes.size() - at >= 8, origin, ": truncated entry for token ", pieces_.size());
    std::memcpy(&score, bytes.data() + at, 4);
    at += 4;
    take_int32(length);
    LMSHRINK_CHECK(length >= 0 && length <= max_token_length, origin, ": malformed entry for token ", pieces_.size(),
                   " (length ", length, ", max_token_length ", max_token_length, ")");
    LMSHRINK_CHECK(bytes.size() - at >= static_cast<size_t>(length), origin, ": truncated piece for token ", pieces_.size());
    std::string piece(bytes.substr(at, length));
    at += length;
    piece_to_id_.emplace(piece, static_cast<int32_t>(pieces_.size()));  // first occurrence wins
    pieces_.push_back(std::move(piece));
    scores_.push_back(score);
  }
  LMSHRINK_CHECK(pieces_.size() > 258, origin, ": tokenizer has only ", pieces_.size(),
                 " tokens; a llama2.c vocabulary holds at least the 3 specials and 256 byte tokens");
}

int32_t Llama2cTokenizer::lookup(const std::string& piece) const {
  auto it = piece_to_id_.find(piece);
  return it == piece_to_id_.end() ? -1 : it->second;
}

namespace {
struct PairCandidate {
  float score;
  int32_t left;      // position of the left symbol
  int32_t left_id, right_id, merged_id;
  bool operator<(const PairCandidate& other) const {  // max-heap: best score, then leftmost
    if (score != other.score) return score < other.score;
    return left > other.left;
  }
};
}  // namespace

// Greedy best-score merging as run.c does it. Symbols form a linked list over positions; a heap
// holds every adjacent pair that forms a known piece, validated when popped.
void Llama2cTokenizer::merge_pairs(std::vector<int32_t>& ids) const {
  int32_t n = static_cast<int32_t>(ids.size());
  std::vector<int32_t> next(n), prev(n);
  for (int32_t i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  std::priority_queue<PairCandidate> heap;
  auto push_pair = [&](int32_t left) {
    if (left < 0 || next[left] < 0) return;
    int32_t right = next[left];
    int32_t merged = lookup(pieces_[ids[left]] + pieces_[ids[right]]);
    if (merged >= 0) heap.push({scores_[merged], left, ids[left], ids[right], merged});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);
  std::vector<bool> alive(n, true);
  while (!heap.empty()) {
    PairCandidate top = heap.top();
    heap.pop();
    int32_t right = next[top.left];
    if (!alive[top.left] || right < 0 || ids[top.left] != top.left_id || ids[right] != top.right_id) continue;
    ids[top.left] = top.merged_id;
    alive[right] = false;
    next[top.left] = next[right];
    if (next[right] >= 0) prev[next[right]] = top.left;
    push_pair(prev[top.left]);
    push_pair(top.left);
  }
  std::vector<int32_t> merged;
  for (int32_t i = 0; i >= 0 && i < n; i = next[i]) merged.push_back(ids[i]);
  ids.swap(merged);
}

std::vector<int32_t> Llama2cTokenizer::encode(const std::string& text, bool add_bos, bool add_eos) const {
  std::vector<int32_t> symbols;
  if (!text.empty()) {
    int32_t space = lookup(" ");
    LMSHRINK_CHECK(space >= 0, path_, ": tokenizer has no \" \" piece for the dummy prefix");
    symbols.push_back(space);
  }
  size_t start = 0;
  while (start < text.size()) {  // one UTF-8 code point (at most 4 bytes) at a time
    size_t end = start + 1;
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80 && end - start < 4) ++end;
    int32_t id = lookup(text.substr(start, end - start));
    if (id >= 0) {
      symbols.push_back(id);
    } else {
      for (size_t i = start; i < end; ++i) symbols.push_back(static_cast<unsigned char>(text[i]) + 3);
    }
    start = end;
  }
  merge_pairs(symbols);
  std::vector<int32_t> ids;
  if (add_bos) ids.push_back(bos_id());
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  if (add_eos) ids.push_back(eos_id());
  return ids;
}

std::string Llama2cTokenizer::decode_token(int32_t prev_token, int32_t token) const {
  LMSHRINK_CHECK(token >= 0 && token < vocab_size(), "decode: token id ", token, " outside the vocabulary of ",
                 vocab_size());
  const std::string& piece = pieces_[token];
  if (prev_token == bos_id() && !piece.empty() && piece[0] == ' ') return piece.substr(1);
  unsigned int byte_value = 0;
  char tail = 0;
  if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%02X%c", &byte_value, &tail) == 2 && tail == '>') {
    return std::string(1, static_cast<char>(byte_value));
  }
  return piece;
}

}  // namespace lmshrink
