// lm-eval's joint context/continuation encoding (encode_pair.h).
#include "lmshrink/eval/encode_pair.h"

#include <algorithm>

namespace lmshrink {

LoglikRequest encode_pair(const Tokenizer& tokenizer, const std::string& context, const std::string& continuation,
                          bool add_bos) {
  LoglikRequest request;
  if (context.empty()) {
    request.context = {tokenizer.bos_id()};
    request.continuation = tokenizer.encode(continuation, false, false);
    return request;
  }
  size_t kept = context.find_last_not_of(" \t\n\r\f\v");
  kept = kept == std::string::npos ? 0 : kept + 1;
  std::string moved_context = context.substr(0, kept);
  std::string moved_continuation = context.substr(kept) + continuation;
  std::vector<int32_t> whole = tokenizer.encode(moved_context + moved_continuation, add_bos, false);
  request.context = tokenizer.encode(moved_context, add_bos, false);
  size_t split = std::min(request.context.size(), whole.size());
  request.continuation.assign(whole.begin() + split, whole.end());
  if (request.context.empty()) request.context = {tokenizer.bos_id()};  // a context of whitespace only
  return request;
}

}  // namespace lmshrink
