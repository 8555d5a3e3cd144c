// libFuzzer: the JSONL task readers (eval/task.h): arc / boolq / openbookqa / copa queries and choices, WinoGrande,
// LAMBADA, all on the same input.
#include "fuzz_common.h"
#include "lmshrink/eval/task.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(lmshrink::fuzz::bytes_of(data, size));
  for (const char* name : {"arc_easy", "boolq", "openbookqa", "copa"})
    lmshrink::fuzz::expect_clean([&] { (void)lmshrink::parse_query_choices(name, text, "task.jsonl"); });
  lmshrink::fuzz::expect_clean([&] { (void)lmshrink::parse_winogrande(text, "winogrande.jsonl"); });
  lmshrink::fuzz::expect_clean([&] { (void)lmshrink::parse_lambada(text, "lambada.jsonl"); });
  return 0;
}
