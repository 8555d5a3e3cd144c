// The seven projections of a decoder block by name ("q_proj", ..., "down_proj"): the block member holding each, its
// HF tensor prefix, the Gram its input has, and the --targets list syntax. (To be replaced by a model-wide table.)
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lmshrink/model/transformer.h"

namespace lmshrink {

const std::vector<std::string>& all_projections();  // the 7 block projections, in block order
// The block's member holding a projection ("q_proj", ..., "down_proj"); throws on another name.
std::unique_ptr<Linear>& projection_slot(TransformerBlock& block, const std::string& projection);
// "model.layers.<layer>.self_attn.<projection>" or "….mlp.<projection>", the HF tensor prefix.
std::string projection_layer_name(int64_t layer, const std::string& projection);
LinearInput projection_input(const std::string& projection);  // the Gram a projection's input has
const Linear& projection_layer(const Transformer& model, int64_t layer, const std::string& projection);
// A comma list of groups "all", "attn" (q,k,v,o), "mlp" (gate,up,down) and names q,k,v,o,gate,up,
// down (with or without "_proj"), returned in block order. Throws lmshrink::Error on an unknown name
// or an empty list.
std::vector<std::string> parse_targets(const std::string& list);

}  // namespace lmshrink
