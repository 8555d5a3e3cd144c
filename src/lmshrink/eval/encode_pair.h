// lm-eval-harness 0.4's HFLM._encode_pair: trailing whitespace of the context moves to the front of
// the continuation, context + continuation are encoded jointly and the continuation's tokens are
// whole[len(encode(context)):], so a token that straddles the boundary is scored as the model would
// see it. An empty context gets the prefix token (BOS) alone. add_bos prepends BOS to the context
// (lm-eval >= 0.4.9.2 does so for tokenizers that add one, e.g. Llama's; earlier versions did not).
#pragma once
#include <string>

#include "lmshrink/eval/loglikelihood.h"
#include "lmshrink/tokenizer/tokenizer.h"

namespace lmshrink {

LoglikRequest encode_pair(const Tokenizer& tokenizer, const std::string& context, const std::string& continuation,
                          bool add_bos);

}  // namespace lmshrink
