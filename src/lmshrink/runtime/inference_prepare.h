// Turns a loaded or compressed model into its fast-inference form (issue 11): every block projection and lm_head is
// replaced by the kernel layer of its format (fast_linear.h) in float32 or bfloat16 storage, and the source layer is
// freed. SharedAtoms (MASA) layers are synthesised into dense kernels once, here; LowRank and DictSparse keep their
// factors; any other layer becomes a dense kernel of its dense() weight. The token embedding stays float32.
#pragma once
#include <cstdint>
#include <map>
#include <memory>

#include "lmshrink/model/transformer.h"
#include "lmshrink/runtime/fast_linear.h"

namespace lmshrink {

// Packed dictionaries by the address of their source tensor, so a CoSpaDi group's layers share one. Use one cache
// per set of source layers that were all allocated before any of them is freed (an address may be reused).
using DictionaryCache = std::map<const void*, std::shared_ptr<const PackedMatrix>>;

std::unique_ptr<KernelLinear> kernel_linear(const Linear& layer, WeightStorage storage, DictionaryCache& dictionaries);

// Replaces the model's projections and lm_head by kernel layers; returns how many layers it replaced (kernel layers
// already there are kept as they are). With fuse_shared_inputs, q|k|v and gate|up then run their first factors as
// one product where they qualify (fused_first_factors.h); bench --no-fuse measures without.
int64_t prepare_for_inference(Transformer& model, WeightStorage storage, bool fuse_shared_inputs = true);

// Bytes of weights one decoded token reads in a layer: a kernel layer's packed bytes; for the libtorch reference
// layers, the tensors their forward() reads (a DictSparse layer's int64 rows, a SharedAtoms layer's synthesised
// float32 weight).
int64_t linear_bytes_per_token(const Linear& layer);
// Every projection, lm_head, and one float32 embedding row.
int64_t model_weight_bytes_per_token(const Transformer& model);

}  // namespace lmshrink
