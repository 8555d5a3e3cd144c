// libFuzzer: MMLU's CSV (eval/task.h parse_csv, parse_mmlu_rows).
#include "fuzz_common.h"
#include "lmshrink/eval/task.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(lmshrink::fuzz::bytes_of(data, size));
  lmshrink::fuzz::expect_clean([&] { (void)lmshrink::parse_mmlu_rows(text, "abstract_algebra_test.csv"); });
  return 0;
}
