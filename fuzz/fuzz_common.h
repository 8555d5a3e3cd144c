// Shared by the libFuzzer harnesses (issue 21; scripts/fuzz.sh builds and runs them). Each harness hands the
// fuzzer's bytes to a reader's buffer entry point. A reader may only throw lmshrink::Error for bad input (the CLI
// prints it on one line and exits 2); any other exception escapes and aborts, and a crash, hang or sanitizer report
// is a finding too.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lmshrink/util/error.h"

namespace lmshrink::fuzz {

inline std::string_view bytes_of(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Runs read; a clean lmshrink::Error is the expected outcome for bad input.
template <typename Read>
void expect_clean(Read&& read) {
  try {
    read();
  } catch (const lmshrink::Error&) {
  }
}

}  // namespace lmshrink::fuzz
