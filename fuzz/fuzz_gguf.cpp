// libFuzzer: the GGUF header (io/gguf_header.h): magic, version, counts, key-values, arrays, tensor infos, types,
// offsets and their layout in the file; then the model configuration and the tokenizer built from the metadata
// (io/gguf_model.h gguf_model_config is not libtorch-free, so the tokenizer stands for the metadata readers here).
// The input is a whole file.
#include "fuzz_common.h"
#include "lmshrink/io/gguf_header.h"
#include "lmshrink/io/gguf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lmshrink::fuzz::expect_clean([&] {
    lmshrink::GgufHeader header =
        lmshrink::parse_gguf_header(lmshrink::fuzz::bytes_of(data, size), static_cast<int64_t>(size), "model.gguf");
    // Every accepted tensor lies inside the file: touch its first and last byte as GgufFile would.
    for (const lmshrink::GgufTensorInfo& info : header.tensors) {
      volatile uint8_t first = data[header.data_offset + info.offset];
      volatile uint8_t last = data[header.data_offset + info.offset + info.bytes - 1];
      (void)first, (void)last;
    }
    auto tokenizer = lmshrink::gguf_tokenizer(header, "model.gguf");
    (void)tokenizer->encode("the tea", true, false);
  });
  return 0;
}
