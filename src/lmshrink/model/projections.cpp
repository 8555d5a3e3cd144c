// The projection table (see projections.h).
#include "lmshrink/model/projections.h"

#include <algorithm>
#include <sstream>

#include "lmshrink/util/error.h"

namespace lmshrink {

const std::vector<ProjectionInfo>& projection_table() {
  static const std::vector<ProjectionInfo> table{
      {"q_proj", &TransformerBlock::q_proj, LinearInput::kQkv, "self_attn", "attn_q"},
      {"k_proj", &TransformerBlock::k_proj, LinearInput::kQkv, "self_attn", "attn_k"},
      {"v_proj", &TransformerBlock::v_proj, LinearInput::kQkv, "self_attn", "attn_v"},
      {"o_proj", &TransformerBlock::o_proj, LinearInput::kO, "self_attn", "attn_output"},
      {"gate_proj", &TransformerBlock::gate_proj, LinearInput::kGateUp, "mlp", "ffn_gate"},
      {"up_proj", &TransformerBlock::up_proj, LinearInput::kGateUp, "mlp", "ffn_up"},
      {"down_proj", &TransformerBlock::down_proj, LinearInput::kDown, "mlp", "ffn_down"},
  };
  return table;
}

const ProjectionInfo& projection_info(const std::string& projection) {
  for (const ProjectionInfo& info : projection_table()) {
    if (info.name == projection) return info;
  }
  fail("unknown projection '", projection, "' (expected q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj or down_proj)");
}

const std::vector<std::string>& all_projections() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list;
    for (const ProjectionInfo& info : projection_table()) list.push_back(info.name);
    return list;
  }();
  return names;
}

std::string projection_layer_name(int64_t layer, const std::string& projection) {
  return str_cat("model.layers.", layer, ".", projection_info(projection).hf_module, ".", projection);
}

LinearInput projection_input(const std::string& projection) { return projection_info(projection).input; }

std::unique_ptr<Linear>& projection_slot(TransformerBlock& block, const std::string& projection) {
  return block.*(projection_info(projection).member);
}

const Linear& projection_layer(const Transformer& model, int64_t layer, const std::string& projection) {
  return *(model.blocks().at(layer).*(projection_info(projection).member));
}

std::pair<int64_t, int64_t> projection_shape(const ModelConfig& c, const std::string& projection) {
  int64_t q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim, h = c.hidden_size;
  switch (projection_info(projection).input) {
    case LinearInput::kQkv: return {projection == "q_proj" ? q_dim : kv_dim, h};
    case LinearInput::kO: return {h, q_dim};
    case LinearInput::kGateUp: return {c.intermediate_size, h};
    case LinearInput::kDown: return {h, c.intermediate_size};
  }
  fail("unknown projection input");
}

bool projection_has_bias(const ModelConfig& c, const std::string& projection) {
  const ProjectionInfo& info = projection_info(projection);
  if (!info.is_attention()) return c.mlp_bias;
  return info.input == LinearInput::kO ? c.attention_output_bias : c.attention_bias;
}

std::vector<std::string> parse_targets(const std::string& list) {
  const std::vector<std::string>& all = all_projections();
  std::vector<std::string> chosen;
  std::stringstream items(list);
  for (std::string item; std::getline(items, item, ',');) {
    std::vector<std::string> names;
    if (item == "all") names = all;
    else if (item == "attn") names = {"q_proj", "k_proj", "v_proj", "o_proj"};
    else if (item == "mlp") names = {"gate_proj", "up_proj", "down_proj"};
    else names = {item.size() > 5 && item.substr(item.size() - 5) == "_proj" ? item : item + "_proj"};
    for (const std::string& name : names) {
      LMSHRINK_CHECK(std::find(all.begin(), all.end(), name) != all.end(), "targets: unknown projection '", item,
                     "' (use all, attn, mlp or a comma list of q,k,v,o,gate,up,down)");
      chosen.push_back(name);
    }
  }
  LMSHRINK_CHECK(!chosen.empty(), "targets: empty list");
  std::vector<std::string> ordered;  // block order, once each, whatever order the user wrote
  for (const std::string& name : all) {
    if (std::find(chosen.begin(), chosen.end(), name) != chosen.end()) ordered.push_back(name);
  }
  return ordered;
}

}  // namespace lmshrink
