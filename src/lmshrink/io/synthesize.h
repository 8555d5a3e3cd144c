// Seeded random-weight checkpoints at real shapes, written as sharded Hugging Face directories (lmshrink synthesize),
// so anyone can reproduce the scale and speed figures without the real weights. Weights ~ N(0, 0.02²), output
// projections (o_proj, down_proj) scaled by 1/sqrt(2 layers) as GPT-2's init, norms 1; drawn tensor by tensor from one
// seeded generator in file order and written at once (shard_writer.h): memory holds one tensor, whatever the size.
// config.json carries "lmshrink_synthetic": true, so every record of a model made from it says "synthetic".
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lmshrink/model/config.h"

namespace lmshrink {

// The named shapes: "llama-3.2-1b", "llama-3.1-8b", "qwen3-8b" (their published sizes, vocabulary included).
ModelConfig synthetic_shape(const std::string& name);
std::vector<std::string> synthetic_shape_names();

struct SynthesizeOptions {
  at::ScalarType dtype = at::ScalarType::BFloat16;
  uint64_t seed = 2024;
  int64_t shard_bytes = 5000000000;
};

// Writes config.json and the safetensors shards into an existing folder, reporting progress per tensor
// (util/progress.h). Returns the bytes of the shards.
int64_t write_synthetic_checkpoint(ModelConfig config, const std::string& dir, const SynthesizeOptions& options);

}  // namespace lmshrink
