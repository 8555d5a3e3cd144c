// libFuzzer: the llama2.c checkpoint header (io/llama2c_header.h) and the file-size prediction. The input is the
// file; a 36-byte input is a header followed by a claimed file size (int64), so sizes far past the input (and the
// overflow paths of the size arithmetic) are reachable.
#include <cstring>

#include "fuzz_common.h"
#include "lmshrink/io/llama2c_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int64_t file_bytes = static_cast<int64_t>(size);
  if (size == 36) std::memcpy(&file_bytes, data + 28, 8);
  lmshrink::fuzz::expect_clean([&] {
    lmshrink::Llama2cHeader header = lmshrink::parse_llama2c_header(lmshrink::fuzz::bytes_of(data, size), file_bytes, "model.bin");
    if (lmshrink::kLlama2cHeaderBytes + 4 * lmshrink::llama2c_payload_floats(header) != file_bytes) __builtin_trap();
  });
  return 0;
}
