// Seeded random-weight models at real LLM shapes, for speed and memory measurements where no real
// checkpoint of that size exists here. Always labelled: config.source_format = "synthetic".
#pragma once
#include <cstdint>
#include <memory>

#include "lmshrink/model/transformer.h"

namespace lmshrink {

// Llama-3.2-1B shapes (hidden 2048, 16 layers, 32 heads / 8 KV heads, MLP 8192, rope_theta 500000,
// tied embeddings) with a reduced vocabulary (the real one is 128256).
ModelConfig llama32_1b_shapes(int64_t vocab_size = 8192, int64_t context = 2048);

// Weights ~ N(0, 0.02^2) (output projections scaled by 1/sqrt(2 * layers), as GPT-2 init), norms 1.
std::unique_ptr<Transformer> make_synthetic_model(ModelConfig config, uint64_t seed);

}  // namespace lmshrink
