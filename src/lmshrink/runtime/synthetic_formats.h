// Compressed formats at real shapes without compressing (issue 11's speed table): replaces the block projections of
// a model with seeded random layers in the format, and at the sizes, that a method produces at a compression ratio.
// Speed depends on the format and the sizes, not on the values, so this measures a 1B-shaped model's compressed
// inference on a 2-core machine where compressing it for real would take hours. Always for synthetic models, whose
// config already says so (source_format "synthetic"). Sizes, per matrix d1 = in, d2 = out, ratio γ:
//   svd, asvd, svd-llm  LowRank, r = ⌊(1 − γ) d1 d2 / (d1 + d2)⌋ (rank.h)
//   cospadi             DictSparse, (k, s = k/2) under full 16-bit accounting (dict_size.h); the support of each
//                       column is stratified: one random atom in each of s equal slices of [0, k)
//   compot              the same with k <= d1 (an orthogonal dictionary)
//   rocket              a uniform rate at ks = 2 (rocket_size; the knapsack would vary the rate per matrix)
//   masa                attention projections only: one bank of S atoms per projection type over all layers,
//                       S from masa_atoms_for_ratio, synthesised at load; the MLP stays dense
//   dense               unchanged
// It uses compress/'s sizing functions, so the sizes are exactly the ones the methods use.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lmshrink/model/transformer.h"
#include "lmshrink/runtime/packed_matrix.h"

namespace lmshrink {

const std::vector<std::string>& synthetic_format_methods();  // the names above
// Throws lmshrink::Error for an unknown method, a ratio outside (0, 1) (except dense), or a size that rounds to 0.
void apply_synthetic_format(Transformer& model, const std::string& method, double ratio, uint64_t seed);

// "synthetic:llama-3.2-1b" (Llama-3.2-1B shapes, vocab 8192, context 2048) or "synthetic:tiny" (hidden 64, 2 layers,
// 4 heads / 2 KV heads, MLP 160, vocab 256, context 256), seeded random weights (synthetic.h), its projections built
// directly in `method`'s format (no dense model first, so peak memory is the compressed model's); with `kernels`,
// each projection is packed into its kernel layer (fast_linear.h) as soon as it is built.
bool is_synthetic_spec(const std::string& model_spec);
std::unique_ptr<Transformer> make_synthetic_from_spec(const std::string& model_spec, uint64_t seed,
                                                      const std::string& method = "dense", double ratio = 0.0,
                                                      std::optional<WeightStorage> kernels = std::nullopt);

}  // namespace lmshrink
