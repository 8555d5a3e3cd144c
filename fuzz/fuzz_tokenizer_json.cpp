// libFuzzer: tokenizer.json (tokenizer/hf_tokenizer.h): load, then encode and decode a fixed text with added tokens,
// bytes outside the vocabulary and multi-byte characters, and decode every id once.
#include "fuzz_common.h"
#include "lmshrink/tokenizer/hf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lmshrink::fuzz::expect_clean([&] {
    lmshrink::HfTokenizer tokenizer(lmshrink::fuzz::bytes_of(data, size), "", "tokenizer.json");
    std::vector<int32_t> ids =
        tokenizer.encode("Once upon a time, 12 caf\xC3\xA9s  \n\t\xF0\x9F\x98\x80 <s></s><|endoftext|> \xFF end", true, true);
    (void)tokenizer.decode(ids);
    int32_t previous = -1;
    for (int64_t id = 0; id < std::min<int64_t>(tokenizer.vocab_size(), 4096); ++id) {
      (void)tokenizer.decode_token(previous, static_cast<int32_t>(id));
      previous = static_cast<int32_t>(id);
    }
  });
  return 0;
}
