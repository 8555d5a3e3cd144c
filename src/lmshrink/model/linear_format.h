// How each Linear implementation is stored in a checkpoint (DESIGN.md "A compressed model on disk"):
// a dense layer is the plain Hugging Face pair "<name>.weight" [out, in] (+ "<name>.bias"); any
// other format stores its factor tensors as "<name>.<factor>" and one entry in config.json's
// "compression"."layers" object that names the format and its shapes, e.g. for LowRank
//   "model.layers.0.mlp.down_proj": {"format": "lowrank", "in_features": 172, "out_features": 64,
//                                    "rank": 37, "params": 8732}
// with tensors "<name>.a" [in, rank] and "<name>.b" [rank, out] (y = (x a) b + bias). DictSparse
// (dict_sparse.h) has {"format": "dictsparse", ..., "atoms": k, "nonzeros": s, "index": "bitmask"|"rows",
// "dictionary": "own" or the name of the group layer that stores it, "quantization": {"bits", "group_size"}
// (absent when float32)} with tensors "<name>.dictionary" [in, k] (own only), "<name>.values" [s, out], and
// "<name>.mask" uint8 [out, ceil(k/8)] or "<name>.rows" int16 [s, out] (uint16 bit pattern); a quantized
// factor F is stored as "<name>.F_codes" uint8 (packed) and "<name>.F_scales" float16 instead. SharedAtoms
// (shared_atoms.h) has {"format": "sharedatoms", ..., "atoms": S, "bank": "own" or the name of the group's first layer,
// "group_layers": L_g, "group_index": i, "residual_rank": r, "mix": "synthesize"|"runtime"} with tensors, on the
// group's first layer only, "<name>.atoms" [S, out, in] and "<name>.coefficients" [L_g, S], and per layer (r > 0)
// "<name>.residual_a" [in, r] and "<name>.residual_b" [r, out].
// Loading checks the entry against the model config and every tensor against the entry's shapes.
#pragma once
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "lmshrink/model/linear.h"

namespace lmshrink {

struct StoredLinear {
  nlohmann::json entry;  // null for a dense layer (plain HF tensors, nothing in "compression")
  std::vector<std::pair<std::string, at::Tensor>> tensors;
};

// Float tensors are returned as float32; indices, packed codes and fp16 scales keep their own dtypes.
StoredLinear store_linear(const std::string& name, const Linear& linear);

// Fetches a named tensor of an expected shape, throwing lmshrink::Error when it is missing or its shape
// differs. dtype kFloat32 accepts any floating dtype and converts; kStoredFloat accepts any floating dtype and keeps
// it (weights and factors stay bf16 when the checkpoint is bf16: linear.h compute_tensor); any other dtype must match
// exactly.
constexpr at::ScalarType kStoredFloat = at::ScalarType::Undefined;
using TensorSource =
    std::function<at::Tensor(const std::string& name, const std::vector<int64_t>& shape, at::ScalarType dtype)>;

// Rebuilds the layer `name` of the config's shape [out, in]: dense when entry is null, else the
// entry's format. has_bias comes from the config (attention_bias, mlp_bias, ...). Weights and float factors keep their
// stored dtype; biases, shared atoms and quantization scales are read as float32.
std::unique_ptr<Linear> restore_linear(const std::string& name, const nlohmann::json& entry, int64_t out,
                                       int64_t in, bool has_bias, const TensorSource& fetch);

// A DenseLinear with the layer's reconstructed weight (dense()) and its bias: for dense export.
std::unique_ptr<Linear> densified(const Linear& linear);

}  // namespace lmshrink
