// The one table of a decoder block's seven projections (as llama.cpp's LLM_TENSOR_NAMES): each one's short name, the
// TransformerBlock member that holds it, the Gram its input shares (LinearInput), its Hugging Face module and the
// GGUF tensor name llama.cpp gives it. Every place that needs a projection's name, slot, input or on-disk key asks here.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lmshrink/model/transformer.h"

namespace lmshrink {

struct ProjectionInfo {
  std::string name;                                  // "q_proj", ..., "down_proj"
  std::unique_ptr<Linear> TransformerBlock::*member;  // &TransformerBlock::q_proj, ...
  LinearInput input;                                 // q|k|v, o, gate|up, down
  std::string hf_module;                             // "self_attn" or "mlp"
  std::string gguf_name;                             // "attn_q", ..., "ffn_down"
  bool is_attention() const { return hf_module == "self_attn"; }
};

const std::vector<ProjectionInfo>& projection_table();  // block order: q, k, v, o, gate, up, down
const ProjectionInfo& projection_info(const std::string& projection);  // throws lmshrink::Error on another name
const std::vector<std::string>& all_projections();                      // the seven names, in block order

// "model.layers.<layer>.self_attn.<projection>" or "….mlp.<projection>", the HF tensor prefix.
std::string projection_layer_name(int64_t layer, const std::string& projection);
LinearInput projection_input(const std::string& projection);
std::unique_ptr<Linear>& projection_slot(TransformerBlock& block, const std::string& projection);
const Linear& projection_layer(const Transformer& model, int64_t layer, const std::string& projection);
// A comma list of groups "all", "attn" (q,k,v,o), "mlp" (gate,up,down) and names q,k,v,o,gate,up,
// down (with or without "_proj"), returned in block order. Throws lmshrink::Error naming the field "targets" on an
// unknown name or an empty list.
std::vector<std::string> parse_targets(const std::string& list);
// A projection's weight shape {out, in} under a config, and whether the config gives it a bias.
std::pair<int64_t, int64_t> projection_shape(const ModelConfig& config, const std::string& projection);
bool projection_has_bias(const ModelConfig& config, const std::string& projection);

}  // namespace lmshrink
