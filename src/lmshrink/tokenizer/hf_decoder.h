// The "decoder" section of tokenizer.json: turns the token strings of a sequence back into text. As
// in HF tokenizers every step maps the list of token strings to a new list, and the result is their
// concatenation. Supported steps:
//   ByteLevel     GPT-2 byte characters -> bytes (a token with a character outside the map is kept as is)
//   Replace       a String pattern -> content in every token (Llama-2: "▁" -> " ")
//   ByteFallback  runs of <0xXX> tokens -> their bytes
//   Fuse          all tokens -> one
//   Strip         up to `start` leading / `stop` trailing `content` characters of every token
//   Metaspace     replacement -> ' ', and the leading space of the first token dropped unless
//                 prepend_scheme is "never"
//   Sequence      of these.
// null concatenates the tokens (HF joins them with spaces; no supported model has a null decoder).
// Output is raw bytes: where HF would replace invalid UTF-8 (ByteFallback runs, the final ByteLevel
// string) with U+FFFD, the bytes are kept, so decoding token by token concatenates to the same text.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lmshrink {

class HfDecoder {
 public:
  HfDecoder() = default;
  HfDecoder(const nlohmann::json& spec, const std::string& path);
  // at_text_start: tokens[0] begins the text. When false (a token decoded after others), Strip's
  // `start` and Metaspace's leading-space removal do not apply.
  std::string decode(std::vector<std::string> tokens, bool at_text_start) const;

 private:
  enum class Kind { kByteLevel, kReplace, kByteFallback, kFuse, kStrip, kMetaspace };
  struct Step {
    Kind kind = Kind::kFuse;
    std::string pattern;  // Replace: the pattern; Strip: the character; Metaspace: the replacement
    std::string content;  // Replace: the replacement
    int start = 0;        // Strip
    int stop = 0;         // Strip
    bool strip_leading_space = true;  // Metaspace
  };
  static Step make_step(Kind kind, std::string pattern = "", std::string content = "");
  void add_steps(const nlohmann::json& spec, const std::string& path, int depth = 0);  // depth: Sequence nesting
  static void apply_step(const Step& step, bool at_text_start, std::vector<std::string>& tokens);

  std::vector<Step> steps_;
};

}  // namespace lmshrink
