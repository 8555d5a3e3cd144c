// libFuzzer: config.json (io/hf_config.h): JSON, then the typed, range-checked ModelConfig reader.
#include "fuzz_common.h"
#include "lmshrink/io/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lmshrink::fuzz::expect_clean([&] {
    nlohmann::json json = lmshrink::parse_hf_config_json(lmshrink::fuzz::bytes_of(data, size), "config.json");
    lmshrink::ModelConfig config = lmshrink::parse_hf_config(json, "config.json");
    (void)lmshrink::hf_config_json(config);
  });
  return 0;
}
