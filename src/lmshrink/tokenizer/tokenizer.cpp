// Shared Tokenizer helpers.
#include "lmshrink/tokenizer/tokenizer.h"

namespace lmshrink {

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i == 0 && ids[i] == bos_id()) continue;
    int32_t prev = i == 0 ? -1 : ids[i - 1];
    text += decode_token(prev, ids[i]);
  }
  return text;
}

}  // namespace lmshrink
