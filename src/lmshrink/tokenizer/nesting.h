// The deepest "Sequence" nesting accepted in tokenizer.json's normalizer, pre_tokenizer, decoder and
// post_processor (real files nest one or two levels). Deeper input is a one-line error, not a stack
// overflow (issue 21: 100,000 nested Sequences crashed the loader).
#pragma once

namespace lmshrink {

inline constexpr int kMaxTokenizerNesting = 64;

}  // namespace lmshrink
