// The "pre_tokenizer" section of tokenizer.json: splits one normalized text segment into
// pre-tokens, each of which the BPE model encodes on its own. Supported types:
//   Split      pattern {"Regex": ...} or {"String": ...}, behavior Isolated / Removed /
//              MergedWithPrevious / MergedWithNext, invert false (Llama-3, Qwen2/3 regexes)
//   ByteLevel  add_prefix_space; use_regex splits with the GPT-2 regex; in every case it marks the
//              pipeline as byte-level (the model spells pre-tokens in GPT-2 byte characters)
//   Metaspace  replacement (e.g. "▁") for ' ', prepend_scheme always / first / never (or the older
//              add_prefix_space), split on the replacement (MergedWithNext) when split is true
//   Sequence   of these.
// null keeps the segment whole. Any other type is refused with an lmshrink::Error naming it.
#pragma once
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "lmshrink/tokenizer/pcre_regex.h"

namespace lmshrink {

// Pre-tokens as views into the segment, or into `storage` when a step rewrote the text.
struct PreTokens {
  std::vector<std::string_view> pieces;
  std::vector<std::string_view> scratch;  // the next step's output, swapped into pieces
  std::deque<std::string> storage;        // deque: growing it keeps earlier strings in place
};

class HfPreTokenizer {
 public:
  // The regex of ByteLevel(use_regex=true), from GPT-2's encoder.py.
  static constexpr const char* kGpt2Pattern =
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

  HfPreTokenizer() = default;
  HfPreTokenizer(const nlohmann::json& spec, const std::string& path);
  bool byte_level() const { return byte_level_; }
  // Splits segment into out.pieces (empty pieces dropped). at_text_start: the segment begins the
  // input, for Metaspace's prepend_scheme "first".
  void split(std::string_view segment, bool at_text_start, PreTokens& out) const;

 private:
  enum class Kind { kSplit, kByteLevel, kMetaspace };
  enum class Behavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext };
  enum class Prepend { kAlways, kFirst, kNever };
  struct Step {
    Kind kind = Kind::kSplit;
    std::shared_ptr<Pcre2Regex> regex;  // Split with a Regex pattern, ByteLevel with use_regex
    std::string literal;                // Split with a String pattern; Metaspace: the replacement
    Behavior behavior = Behavior::kIsolated;
    bool add_prefix_space = false;      // ByteLevel
    Prepend prepend = Prepend::kNever;  // Metaspace
    bool split = false;                 // Metaspace
  };
  void add_steps(const nlohmann::json& spec, const std::string& path, int depth = 0);  // depth: Sequence nesting
  void add_split(const nlohmann::json& spec, const std::string& path);
  void add_metaspace(const nlohmann::json& spec, const std::string& path);
  static void find_matches(const Step& step, std::string_view piece, std::vector<ByteSpan>& matches);
  static void split_piece(const Step& step, std::string_view piece, std::vector<ByteSpan>& matches,
                          std::vector<std::string_view>& out);
  static void apply_byte_level(const Step& step, PreTokens& tokens, std::vector<ByteSpan>& matches);
  static void apply_metaspace(const Step& step, bool at_text_start, PreTokens& tokens, std::vector<ByteSpan>& matches);

  std::vector<Step> steps_;
  bool byte_level_ = false;
};

}  // namespace lmshrink
