// libFuzzer: HellaSwag in llama.cpp's bzip2 text format (eval/task.h parse_hellaswag): the input as the file, and
// the input compressed with bzip2, so the six-line record parser sees arbitrary text.
#include <bzlib.h>

#include <vector>

#include "fuzz_common.h"
#include "lmshrink/eval/task.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string raw(lmshrink::fuzz::bytes_of(data, size));
  lmshrink::fuzz::expect_clean([&] { (void)lmshrink::parse_hellaswag(raw, "hellaswag.txt.bz2"); });
  std::vector<char> packed(size + size / 100 + 600);
  unsigned packed_size = static_cast<unsigned>(packed.size());
  if (BZ2_bzBuffToBuffCompress(packed.data(), &packed_size, raw.data(), static_cast<unsigned>(raw.size()), 1, 0, 0) == BZ_OK) {
    std::string file(packed.data(), packed_size);
    lmshrink::fuzz::expect_clean([&] { (void)lmshrink::parse_hellaswag(file, "hellaswag.txt.bz2"); });
  }
  return 0;
}
