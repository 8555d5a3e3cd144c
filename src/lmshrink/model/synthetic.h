// Seeded random-weight models at real LLM shapes, for speed and memory measurements where no real
// checkpoint of that size exists here. Always labelled: config.source_format = "synthetic".
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "lmshrink/model/transformer.h"

namespace lmshrink {

// Llama-3.2-1B shapes (hidden 2048, 16 layers, 32 heads / 8 KV heads, MLP 8192, rope_theta 500000,
// tied embeddings) with a reduced vocabulary (the real one is 128256).
ModelConfig llama32_1b_shapes(int64_t vocab_size = 8192, int64_t context = 2048);

// Builds one block projection ("q_proj", ..., "down_proj") of layer `layer`, [out, in]; null: the default dense one.
using ProjectionFactory =
    std::function<std::unique_ptr<Linear>(int64_t layer, const std::string& projection, int64_t in, int64_t out)>;

// Weights ~ N(0, 0.02^2) (output projections scaled by 1/sqrt(2 * layers), as GPT-2 init), norms 1. A factory
// supplies the projections it returns (synthetic_formats.h: compressed formats without a dense model first).
std::unique_ptr<Transformer> make_synthetic_model(ModelConfig config, uint64_t seed,
                                                  const ProjectionFactory& factory = nullptr);

}  // namespace lmshrink
