// The tokenizer interface every model format plugs into: text -> ids, ids -> text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lmshrink {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int32_t> encode(const std::string& text, bool add_bos, bool add_eos) const = 0;
  // The bytes token produces when it follows prev_token (decoders strip a space after BOS).
  virtual std::string decode_token(int32_t prev_token, int32_t token) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;
  virtual int32_t eos_id() const = 0;
  // Concatenated decode_token over ids; a leading BOS is dropped from the text. Tokenizers whose
  // decoder works on whole sequences (HfTokenizer) override it.
  virtual std::string decode(const std::vector<int32_t>& ids) const;
};

}  // namespace lmshrink
