// Per-module-type parameter accounting (see inspect.h).
#include "lmshrink/model/inspect.h"

namespace lmshrink {

namespace {
void add_tensor(ModuleCount& count, const at::Tensor& t) {
  count.params += t.numel();
  count.bytes += t.numel() * static_cast<int64_t>(t.element_size());
  count.tensors += 1;
}
std::string module_type(const std::string& name) { return name.substr(name.rfind('.') + 1); }
}  // namespace

ModelSummary summarize_model(const Transformer& model) {
  ModelSummary s;
  add_tensor(s.per_type["embed_tokens"], model.embed_tokens());
  for (const TransformerBlock& b : model.blocks()) {
    add_tensor(s.per_type["norm"], b.attn_norm);
    add_tensor(s.per_type["norm"], b.mlp_norm);
  }
  add_tensor(s.per_type["norm"], model.final_norm());
  for (const NamedLinear& named : model.named_linears()) {
    if (named.name == "lm_head" && model.lm_head_tied()) continue;
    ParamCount p = named.linear->params();
    ModuleCount& count = s.per_type[module_type(named.name)];
    count.params += p.values;
    count.bytes += p.bytes;
    count.tensors += 1;
    if (named.name != "lm_head") s.linear_params += p.values;
  }
  for (const auto& [type, count] : s.per_type) {
    s.total_params += count.params;
    s.total_bytes += count.bytes;
  }
  return s;
}

}  // namespace lmshrink
