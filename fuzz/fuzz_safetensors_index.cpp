// libFuzzer: model.safetensors.index.json (io/safetensors_header.h parse_safetensors_index).
#include "fuzz_common.h"
#include "lmshrink/io/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lmshrink::fuzz::expect_clean([&] {
    (void)lmshrink::parse_safetensors_index(lmshrink::fuzz::bytes_of(data, size), "model.safetensors.index.json");
  });
  return 0;
}
