// stories260K (the real TinyStories model) and its TinyStories calibration windows, for the compression tests that
// run the whole pipeline on it.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>

#include "lmshrink/calib/corpus.h"
#include "lmshrink/calib/sampling.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "lmshrink/util/progress.h"
#include "test_support.h"

namespace lmshrink::testing {

// n windows of seq_len tokens of the calibration file, blocks protocol, seed 0.
inline at::Tensor calibration_tokens(int64_t n, int64_t seq_len) {
  Llama2cTokenizer tokenizer(stories_tok());
  auto docs = read_corpus(shared_path("data/tinystories/tinystories-valid-calib.txt"));
  return sample_calibration(docs, tokenizer, CalibSpec{"tinystories", "blocks", n, seq_len, 0});
}

inline std::unique_ptr<Transformer> stories() {  // progress bars off
  set_progress_quiet(true);
  return load_llama2c(stories_bin());
}

}  // namespace lmshrink::testing
