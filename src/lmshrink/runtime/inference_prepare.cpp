// Fast-inference preparation of a model (see inference_prepare.h).
#include "lmshrink/runtime/inference_prepare.h"

#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/model/dict_sparse.h"
#include "lmshrink/model/low_rank.h"
#include "lmshrink/model/shared_atoms.h"
#include "lmshrink/runtime/fused_first_factors.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

std::shared_ptr<const PackedMatrix> packed_dictionary(const DictSparseLinear& layer, WeightStorage storage,
                                                      DictionaryCache& dictionaries) {
  const at::Tensor& dictionary = layer.dictionary().value;  // [in, k], the shared tensor is the cache key
  auto found = dictionaries.find(dictionary.data_ptr());
  if (found != dictionaries.end() && found->second->storage() == storage && found->second->rows() == layer.atoms() &&
      found->second->cols() == layer.in_features()) {
    return found->second;
  }
  auto packed = std::make_shared<const PackedMatrix>(compute_tensor(dictionary).t(), storage);
  dictionaries[dictionary.data_ptr()] = packed;
  return packed;
}

std::vector<std::unique_ptr<Linear>*> block_slots(TransformerBlock& block) {
  return {&block.q_proj, &block.k_proj, &block.v_proj, &block.o_proj, &block.gate_proj, &block.up_proj, &block.down_proj};
}

}  // namespace

std::unique_ptr<KernelLinear> kernel_linear(const Linear& layer, WeightStorage storage, DictionaryCache& dictionaries) {
  if (const auto* low_rank = dynamic_cast<const LowRankLinear*>(&layer)) {
    return std::make_unique<FastLowRankLinear>(compute_tensor(low_rank->a()), compute_tensor(low_rank->b()), low_rank->bias(),
                                               storage);
  }
  if (const auto* dict = dynamic_cast<const DictSparseLinear*>(&layer)) {
    SparseColumns coefficients(dict->rows(), compute_tensor(dict->values().value), dict->atoms(), storage);
    return std::make_unique<FastDictSparseLinear>(packed_dictionary(*dict, storage, dictionaries), std::move(coefficients),
                                                  dict->bias());
  }
  if (const auto* dense = dynamic_cast<const DenseLinear*>(&layer)) {
    return std::make_unique<FastDenseLinear>(dense->dense(), dense->bias(), storage);
  }
  return std::make_unique<FastDenseLinear>(layer.dense(), layer.bias(), storage);  // SharedAtoms and the rest
}

int64_t prepare_for_inference(Transformer& model, WeightStorage storage, bool fuse_shared_inputs) {
  torch::NoGradGuard no_grad;
  DictionaryCache dictionaries;
  int64_t replaced = 0;
  std::vector<std::unique_ptr<Linear>*> slots;
  for (TransformerBlock& block : model.mutable_blocks()) {
    for (std::unique_ptr<Linear>* slot : block_slots(block)) slots.push_back(slot);
  }
  slots.push_back(&model.mutable_lm_head());
  for (std::unique_ptr<Linear>* slot : slots) {
    if (dynamic_cast<const KernelLinear*>(slot->get())) continue;  // already packed
    *slot = kernel_linear(**slot, storage, dictionaries);
    ++replaced;
    release_mapped_pages();  // the packed copy replaces the mapped weight: one copy in memory, not two
  }
  if (fuse_shared_inputs) fuse_same_input_layers(model);
  return replaced;
}

int64_t linear_bytes_per_token(const Linear& layer) {
  int64_t bias_bytes = layer.bias().defined() ? layer.bias().numel() * layer.bias().element_size() : 0;
  if (const auto* kernel = dynamic_cast<const KernelLinear*>(&layer)) return kernel->bytes_read_per_token();
  if (const auto* dict = dynamic_cast<const DictSparseLinear*>(&layer)) {
    const at::Tensor& values = dict->values().value;
    return dict->dictionary().value.numel() * dict->dictionary().value.element_size() +
           values.numel() * values.element_size() + dict->rows().numel() * dict->rows().element_size() + bias_bytes;
  }
  if (const auto* atoms = dynamic_cast<const SharedAtomsLinear*>(&layer)) {
    return atoms->in_features() * atoms->out_features() * static_cast<int64_t>(sizeof(float)) + bias_bytes;
  }
  return layer.params().bytes;  // dense and low-rank: every stored tensor
}

int64_t model_weight_bytes_per_token(const Transformer& model) {
  int64_t bytes = model.embed_tokens().size(1) * model.embed_tokens().element_size();
  for (const NamedLinear& named : model.named_linears()) bytes += linear_bytes_per_token(*named.linear);
  return bytes;
}

}  // namespace lmshrink
