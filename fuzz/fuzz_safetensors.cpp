// libFuzzer: the safetensors header (io/safetensors_header.h): length prefix, JSON, dtypes, shapes, offsets and
// their coverage of the buffer. The input is a whole file.
#include "fuzz_common.h"
#include "lmshrink/io/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lmshrink::fuzz::expect_clean([&] {
    lmshrink::SafetensorsHeader header = lmshrink::parse_safetensors_header(
        lmshrink::fuzz::bytes_of(data, size), static_cast<int64_t>(size), "model.safetensors");
    // Every accepted tensor lies inside the buffer: touch its first and last byte as SafetensorsFile would.
    for (const auto& [name, info] : header.tensors) {
      if (info.end > info.begin) {
        volatile uint8_t first = data[header.buffer_offset + info.begin];
        volatile uint8_t last = data[header.buffer_offset + info.end - 1];
        (void)first, (void)last;
      }
    }
  });
  return 0;
}
