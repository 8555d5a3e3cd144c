// BPE model of tokenizer.json (see bpe_model.h).
#include "lmshrink/tokenizer/bpe_model.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <queue>

#include "lmshrink/tokenizer/byte_level.h"
#include "lmshrink/tokenizer/utf8.h"
#include "lmshrink/tokenizer/nesting.h"
#include "lmshrink/util/error.h"

namespace lmshrink {
namespace {

uint64_t pair_key(int32_t left_id, int32_t right_id) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left_id)) << 32) | static_cast<uint32_t>(right_id);
}

bool is_null_or_empty_string(const nlohmann::json& value) {
  return value.is_null() || (value.is_string() && value.get<std::string>().empty());
}

// A candidate merge of the symbol at `position` with its right neighbour.
struct Candidate {
  int32_t rank;
  int32_t position;
  int32_t merged_id;
  bool operator>(const Candidate& other) const {
    return rank != other.rank ? rank > other.rank : position > other.position;
  }
};

}  // namespace

BpeModel::BpeModel(const nlohmann::json& model, const std::string& path) {
  LMSHRINK_CHECK(model.contains("vocab") && model["vocab"].is_object(), path,
                 ": model.vocab: expected an object of token -> id");
  LMSHRINK_CHECK(model.contains("merges") && model["merges"].is_array(), path,
                 ": model.merges: expected an array of merges");
  LMSHRINK_CHECK(is_null_or_empty_string(model.value("continuing_subword_prefix", nlohmann::json())), path,
                 ": model.continuing_subword_prefix is not supported (expected null or \"\")");
  LMSHRINK_CHECK(is_null_or_empty_string(model.value("end_of_word_suffix", nlohmann::json())), path,
                 ": model.end_of_word_suffix is not supported (expected null or \"\")");
  nlohmann::json dropout = model.value("dropout", nlohmann::json());
  LMSHRINK_CHECK(dropout.is_null() || dropout.get<double>() == 0.0, path,
                 ": model.dropout: BPE dropout is not supported (expected null)");
  ignore_merges_ = model.value("ignore_merges", false);
  byte_fallback_ = model.value("byte_fallback", false);
  fuse_unk_ = model.value("fuse_unk", false);
  read_vocab(model["vocab"], path);
  read_merges(model["merges"], path);
  nlohmann::json unk_token = model.value("unk_token", nlohmann::json());
  if (unk_token.is_string()) {
    unk_id_ = token_id(unk_token.get<std::string>());
    LMSHRINK_CHECK(unk_id_ >= 0, path, ": model.unk_token '", unk_token.get<std::string>(), "' is not in model.vocab");
  }
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", byte);
    byte_token_ids_[byte] = token_id(name);
  }
}

void BpeModel::read_vocab(const nlohmann::json& vocab, const std::string& path) {
  id_of_token_.reserve(vocab.size());
  int32_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    int32_t id = checked_token_id(it.value(), path + ": model.vocab['" + it.key() + "']");
    id_of_token_.emplace(it.key(), id);
    max_id = std::max(max_id, id);
  }
  token_of_id_.assign(static_cast<size_t>(max_id + 1), std::string());
  for (const auto& [token, id] : id_of_token_) token_of_id_[id] = token;
}

void BpeModel::read_merges(const nlohmann::json& merges, const std::string& path) {
  merge_of_pair_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const nlohmann::json& merge = merges[rank];
    if (merge.is_string()) {  // "left right"
      const std::string& text = merge.get_ref<const std::string&>();
      size_t space = text.find(' ', 1);
      LMSHRINK_CHECK(space != std::string::npos, path, ": model.merges[", rank, "] = '", text,
                     "': expected two tokens separated by a space");
      add_merge(text.substr(0, space), text.substr(space + 1), static_cast<int32_t>(rank), path);
    } else {
      LMSHRINK_CHECK(merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string(), path,
                     ": model.merges[", rank, "]: expected \"a b\" or [\"a\", \"b\"]");
      add_merge(merge[0].get<std::string>(), merge[1].get<std::string>(), static_cast<int32_t>(rank), path);
    }
  }
}

void BpeModel::add_merge(const std::string& left, const std::string& right, int32_t rank, const std::string& path) {
  int32_t left_id = token_id(left), right_id = token_id(right), merged_id = token_id(left + right);
  LMSHRINK_CHECK(left_id >= 0 && right_id >= 0 && merged_id >= 0, path, ": model.merges[", rank, "] = ('", left,
                 "', '", right, "'): a part or the merged token is not in model.vocab");
  merge_of_pair_.emplace(pair_key(left_id, right_id), Merge{rank, merged_id});  // the first (lowest) rank wins
}

int32_t BpeModel::token_id(std::string_view token) const {
  auto it = id_of_token_.find(token);
  return it == id_of_token_.end() ? -1 : it->second;
}

const BpeModel::Merge* BpeModel::find_merge(int32_t left_id, int32_t right_id) const {
  auto it = merge_of_pair_.find(pair_key(left_id, right_id));
  return it == merge_of_pair_.end() ? nullptr : &it->second;
}

// One symbol per character of word; a character missing from the vocabulary becomes its <0xXX>
// byte tokens (byte_fallback), else the unknown token (consecutive ones fused with fuse_unk), else
// nothing (HF drops it when the model has no unk_token).
void BpeModel::split_into_symbols(std::string_view word, std::vector<Symbol>& symbols) const {
  auto push = [&](int32_t id) {
    int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, true});
  };
  bool last_was_unk = false;
  for (size_t pos = 0; pos < word.size();) {
    size_t length = utf8::char_length_at(word, pos);
    std::string_view character = word.substr(pos, length);
    pos += length;
    int32_t id = token_id(character);
    if (id >= 0) {
      push(id);
      last_was_unk = false;
      continue;
    }
    bool have_byte_tokens = byte_fallback_;
    for (char c : character) have_byte_tokens = have_byte_tokens && byte_token_ids_[static_cast<unsigned char>(c)] >= 0;
    if (have_byte_tokens) {
      for (char c : character) push(byte_token_ids_[static_cast<unsigned char>(c)]);
      last_was_unk = false;
    } else if (unk_id_ >= 0) {
      if (!(fuse_unk_ && last_was_unk)) push(unk_id_);
      last_was_unk = true;
    }
  }
  if (!symbols.empty()) symbols.back().next = -1;
}

void BpeModel::apply_merges(std::vector<Symbol>& symbols) const {
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> candidates;
  auto consider = [&](int32_t position) {
    int32_t next = symbols[position].next;
    if (next < 0) return;
    if (const Merge* merge = find_merge(symbols[position].id, symbols[next].id)) {
      candidates.push({merge->rank, position, merge->merged_id});
    }
  };
  for (int32_t position = 0; position + 1 < static_cast<int32_t>(symbols.size()); ++position) consider(position);
  while (!candidates.empty()) {
    Candidate top = candidates.top();
    candidates.pop();
    Symbol& left = symbols[top.position];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    const Merge* merge = find_merge(left.id, right.id);
    if (merge == nullptr || merge->merged_id != top.merged_id) continue;  // stale: a neighbour merged first
    left.id = top.merged_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.position;
    if (left.prev >= 0) consider(left.prev);
    consider(top.position);
  }
}

void BpeModel::tokenize_uncached(std::string_view pre_token, std::vector<int32_t>& ids) const {
  std::string mapped;
  std::string_view word = pre_token;
  if (byte_level_) {
    byte_level::append_mapped(pre_token, mapped);
    word = mapped;
  }
  if (ignore_merges_) {
    int32_t whole_id = token_id(word);
    if (whole_id >= 0) {
      ids.push_back(whole_id);
      return;
    }
  }
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  split_into_symbols(word, symbols);
  apply_merges(symbols);
  for (const Symbol& symbol : symbols) {
    if (symbol.alive) ids.push_back(symbol.id);
  }
}

bool BpeModel::append_cached(std::string_view pre_token, std::vector<int32_t>& ids) const {
  std::shared_lock lock(cache_mutex_);
  auto it = cached_span_of_pre_token_.find(pre_token);
  if (it == cached_span_of_pre_token_.end()) return false;
  const int32_t* first = cached_ids_.data() + it->second.first;
  ids.insert(ids.end(), first, first + it->second.second);
  return true;
}

void BpeModel::store_cached(std::string_view pre_token, const int32_t* first_id, size_t id_count) const {
  std::unique_lock lock(cache_mutex_);
  if (cached_span_of_pre_token_.size() >= kMaxCachedPreTokens) return;
  if (cached_span_of_pre_token_.find(pre_token) != cached_span_of_pre_token_.end()) return;
  uint32_t offset = static_cast<uint32_t>(cached_ids_.size());
  cached_ids_.insert(cached_ids_.end(), first_id, first_id + id_count);
  cached_span_of_pre_token_.emplace(std::string(pre_token), std::make_pair(offset, static_cast<uint32_t>(id_count)));
}

void BpeModel::tokenize(std::string_view pre_token, std::vector<int32_t>& ids) const {
  if (pre_token.empty() || append_cached(pre_token, ids)) return;
  size_t first_new = ids.size();
  tokenize_uncached(pre_token, ids);
  store_cached(pre_token, ids.data() + first_new, ids.size() - first_new);
}

void BpeModel::clear_cache() const {
  std::unique_lock lock(cache_mutex_);
  cached_span_of_pre_token_.clear();
  cached_ids_.clear();
}

}  // namespace lmshrink
