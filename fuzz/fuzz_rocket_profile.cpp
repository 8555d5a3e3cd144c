// libFuzzer: the saved ROCKET profile (compress/rocket_profile_format.h).
#include "fuzz_common.h"
#include "lmshrink/compress/rocket_profile_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lmshrink::fuzz::expect_clean([&] {
    (void)lmshrink::parse_profile_text(lmshrink::fuzz::bytes_of(data, size), "full", lmshrink::ProfileMetric::kWeight, "profile.json");
  });
  return 0;
}
