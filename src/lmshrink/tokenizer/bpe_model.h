// The "BPE" model of tokenizer.json (HF tokenizers models/bpe): a vocabulary, ranked merges, and the
// merge loop that turns one pre-token into ids. Covers byte-level BPE (GPT-2, Llama-3, Qwen: the
// pre-token's bytes are first spelled in GPT-2's byte-to-unicode characters) and SentencePiece-style
// BPE (Llama-2, Mistral: characters missing from the vocabulary fall back to <0xXX> byte tokens).
//
// Merges come as "a b" strings (older files) or ["a", "b"] pairs (tokenizers >= 0.20); the rank of
// a merge is its index. The merge loop keeps a heap of candidate pairs ordered by (rank, position),
// as HF's Word::merge_all does, so a pre-token of n characters costs O(n log n), and results are
// cached per pre-token (the cache is shared by threads and stops growing at kMaxCachedPreTokens).
#pragma once
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lmshrink {

// Hash for unordered_map<std::string, ...> lookups by std::string_view without a temporary string.
struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringViewHash, std::equal_to<>>;

class BpeModel {
 public:
  static constexpr size_t kMaxCachedPreTokens = 1 << 20;

  // model: the "model" object of tokenizer.json (type "BPE"); path names the file in errors.
  BpeModel(const nlohmann::json& model, const std::string& path);

  // Spell pre-tokens in GPT-2 byte characters before the vocabulary lookup (a ByteLevel pre-tokenizer).
  void set_byte_level(bool byte_level) { byte_level_ = byte_level; }

  // Appends the ids of one pre-token (its raw bytes, as the pre-tokenizer produced them).
  void tokenize(std::string_view pre_token, std::vector<int32_t>& ids) const;

  int32_t token_id(std::string_view token) const;  // -1 when absent
  const std::string& token(int32_t id) const { return token_of_id_.at(id); }
  int64_t id_count() const { return static_cast<int64_t>(token_of_id_.size()); }  // largest id + 1
  void clear_cache() const;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  struct Symbol {
    int32_t id;
    int32_t prev;  // index of the previous live symbol, -1 at the start
    int32_t next;  // index of the next live symbol, -1 at the end
    bool alive;
  };

  void read_vocab(const nlohmann::json& vocab, const std::string& path);
  void read_merges(const nlohmann::json& merges, const std::string& path);
  void add_merge(const std::string& left, const std::string& right, int32_t rank, const std::string& path);
  const Merge* find_merge(int32_t left_id, int32_t right_id) const;
  void split_into_symbols(std::string_view word, std::vector<Symbol>& symbols) const;
  void apply_merges(std::vector<Symbol>& symbols) const;
  void tokenize_uncached(std::string_view pre_token, std::vector<int32_t>& ids) const;
  bool append_cached(std::string_view pre_token, std::vector<int32_t>& ids) const;
  void store_cached(std::string_view pre_token, const int32_t* first_id, size_t id_count) const;

  StringMap<int32_t> id_of_token_;
  std::vector<std::string> token_of_id_;
  std::unordered_map<uint64_t, Merge> merge_of_pair_;  // key: left_id << 32 | right_id
  int32_t unk_id_ = -1;
  bool byte_level_ = false;
  bool ignore_merges_ = false;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  int32_t byte_token_ids_[256];  // id of "<0xXX>" per byte, -1 when absent

  // Cache: pre-token -> (offset, count) into cached_ids_.
  mutable std::shared_mutex cache_mutex_;
  mutable StringMap<std::pair<uint32_t, uint32_t>> cached_span_of_pre_token_;
  mutable std::vector<int32_t> cached_ids_;
};

}  // namespace lmshrink
