// T^T W merge into down_proj and block deletion (see merge.h).
#include "lmshrink/prune/merge.h"

#include <set>

#include "lmshrink/util/error.h"

namespace lmshrink {

void merge_transform_into_down_proj(TransformerBlock& block, const at::Tensor& transform, const std::string& name) {
  const Linear& down = *block.down_proj;
  LMSHRINK_CHECK(down.format() == "dense", name, " is stored as ", down.format(), "; ReplaceMe merges its transform "
                 "into a dense down_proj (write a dense copy with `lmshrink export --dense` first)");
  int64_t hidden = down.out_features();
  LMSHRINK_CHECK(transform.dim() == 2 && transform.size(0) == hidden && transform.size(1) == hidden, name,
                 ": transform must be [", hidden, ", ", hidden, "], got ", transform.sizes());
  torch::NoGradGuard no_grad;
  at::Tensor weight = down.dense();                                           // [hidden, intermediate]
  at::Tensor t64 = transform.to(weight.device(), torch::kFloat64);            // [hidden, hidden]
  at::Tensor merged = t64.t().matmul(weight.to(torch::kFloat64)).to(weight.scalar_type());
  at::Tensor bias = down.bias();                                              // [hidden] or undefined
  if (bias.defined()) bias = t64.t().matmul(bias.to(torch::kFloat64)).to(bias.scalar_type());
  block.down_proj = std::make_unique<DenseLinear>(merged, bias);
}

std::unique_ptr<Transformer> remove_blocks(Transformer& model, const std::vector<int64_t>& layers) {
  int64_t num_layers = model.config().num_layers;
  std::set<int64_t> removed(layers.begin(), layers.end());
  LMSHRINK_CHECK(removed.size() == layers.size(), "remove blocks: a block is listed twice");
  for (int64_t layer : removed) {
    LMSHRINK_CHECK(layer >= 0 && layer < num_layers, "remove blocks: block ", layer, " outside 0-", num_layers - 1);
  }
  LMSHRINK_CHECK(static_cast<int64_t>(removed.size()) < num_layers, "remove blocks: cannot remove all ", num_layers,
                 " blocks");
  std::unique_ptr<Linear> lm_head;
  if (!model.lm_head_tied()) {
    LMSHRINK_CHECK(model.lm_head().format() == "dense", "remove blocks: lm_head is stored as ",
                   model.lm_head().format(), "; expected dense");
    lm_head = std::make_unique<DenseLinear>(model.lm_head().dense(), model.lm_head().bias());
  }
  std::vector<TransformerBlock> kept;
  std::vector<TransformerBlock>& blocks = model.mutable_blocks();
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    if (!removed.count(layer)) kept.push_back(std::move(blocks[layer]));
  }
  ModelConfig config = model.config();
  config.num_layers = static_cast<int64_t>(kept.size());
  return std::make_unique<Transformer>(config, model.embed_tokens(), std::move(kept), model.final_norm(),
                                       std::move(lm_head));
}

}  // namespace lmshrink
