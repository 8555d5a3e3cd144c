// Folding a ReplaceMe transform into a kept weight, and deleting blocks (ALGORITHMS.md §6.2 "Merge").
// With M = a W^T + b the MLP output of the kept block (W = down_proj weight [hidden, intermediate],
// b [hidden]), the block output Y + M T equals Y + a (T^T W)^T + T^T b, so
//   W <- T^T W,  b <- T^T b,
// computed in float64 and cast back to the stored dtype of W (lmshrink holds and writes float32; the
// reference casts to bf16). No parameter is added: the pruned model is a plain, smaller checkpoint.
#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "lmshrink/model/transformer.h"

namespace lmshrink {

// transform: T [hidden, hidden] (row-vector form, M T). The block's down_proj must be dense; `name`
// ("model.layers.1.mlp.down_proj") is used in errors.
void merge_transform_into_down_proj(TransformerBlock& block, const at::Tensor& transform, const std::string& name);

// A model without the blocks `layers` (indices into model's blocks, any order, no repeats): the
// others keep their order and are renumbered, config.num_layers is reduced. Takes the blocks out of
// `model`, which must not be used afterwards. An untied lm_head must be dense.
std::unique_ptr<Transformer> remove_blocks(Transformer& model, const std::vector<int64_t>& layers);

}  // namespace lmshrink
