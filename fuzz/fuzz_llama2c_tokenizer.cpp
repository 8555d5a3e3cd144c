// libFuzzer: llama2.c's tokenizer.bin (tokenizer/llama2c_tokenizer.h): load, then encode and decode.
#include "fuzz_common.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lmshrink::fuzz::expect_clean([&] {
    lmshrink::Llama2cTokenizer tokenizer(lmshrink::fuzz::bytes_of(data, size), "tokenizer.bin");
    std::vector<int32_t> ids = tokenizer.encode("Once upon a time \xC3\xA9 \xF0\x9F\x98\x80 \xFF!", true, true);
    (void)tokenizer.decode(ids);
  });
  return 0;
}
