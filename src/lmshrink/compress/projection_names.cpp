// The projection names of a decoder block and their HF tensor names (see projection_names.h).
#include "lmshrink/compress/projection_names.h"

#include <algorithm>
#include <sstream>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

// The block's member for a projection name (const or mutable, following the block).
template <class Block>
auto& projection_member(Block& block, const std::string& projection) {
  if (projection == "q_proj") return block.q_proj;
  if (projection == "k_proj") return block.k_proj;
  if (projection == "v_proj") return block.v_proj;
  if (projection == "o_proj") return block.o_proj;
  if (projection == "gate_proj") return block.gate_proj;
  if (projection == "up_proj") return block.up_proj;
  if (projection == "down_proj") return block.down_proj;
  fail("unknown projection ", projection);
}

}  // namespace

LinearInput projection_input(const std::string& projection) {
  if (projection == "q_proj" || projection == "k_proj" || projection == "v_proj") return LinearInput::kQkv;
  if (projection == "o_proj") return LinearInput::kO;
  if (projection == "gate_proj" || projection == "up_proj") return LinearInput::kGateUp;
  return LinearInput::kDown;
}

std::string projection_layer_name(int64_t layer, const std::string& projection) {
  bool attention = projection_input(projection) == LinearInput::kQkv || projection == "o_proj";
  return str_cat("model.layers.", layer, attention ? ".self_attn." : ".mlp.", projection);
}

const Linear& projection_layer(const Transformer& model, int64_t layer, const std::string& projection) {
  return *projection_member(model.blocks().at(layer), projection);
}

std::unique_ptr<Linear>& projection_slot(TransformerBlock& block, const std::string& projection) {
  return projection_member(block, projection);
}

const std::vector<std::string>& all_projections() {
  static const std::vector<std::string> names{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  return names;
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
