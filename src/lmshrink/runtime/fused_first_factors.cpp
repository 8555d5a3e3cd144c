// Fusion of the first factors of kernel layers that share an input (see fused_first_factors.h).
#include "lmshrink/runtime/fused_first_factors.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

bool FusedFirstFactors::fuse(const std::vector<KernelLinear*>& layers) {
  if (layers.size() < 2) return false;
  std::vector<const PackedMatrix*> firsts;
  for (KernelLinear* layer : layers) {
    if (layer == nullptr || layer->same_input_group() != nullptr || layer->first_factor_is_shared()) return false;
    const PackedMatrix& first = layer->first_factor();
    if (first.cols() != layers.front()->first_factor().cols()) return false;
    if (first.storage() != layers.front()->first_factor().storage()) return false;
    firsts.push_back(&first);
  }
  auto group = std::make_shared<FusedFirstFactors>();
  group->stacked_ = PackedMatrix::stack_rows(firsts);
  group->offsets_ = {0};
  for (const PackedMatrix* first : firsts) group->offsets_.push_back(group->offsets_.back() + first->rows());
  for (size_t i = 0; i < layers.size(); ++i) {
    group->members_.push_back(layers[i]);
    int64_t begin = group->offsets_[i];
    layers[i]->join_group(group, group->stacked_.rows_view(begin, group->offsets_[i + 1] - begin));
  }
  return true;
}

std::vector<const Linear*> FusedFirstFactors::members() const {
  return std::vector<const Linear*>(members_.begin(), members_.end());
}

std::vector<at::Tensor> FusedFirstFactors::forward(const at::Tensor& x) const {
  at::Tensor z = stacked_.multiply(kernel_input(x, stacked_.cols(), "fused"));
  std::vector<at::Tensor> outputs;
  for (size_t i = 0; i < members_.size(); ++i) {
    at::Tensor columns = z.narrow(1, offsets_[i], offsets_[i + 1] - offsets_[i]).contiguous();
    outputs.push_back(kernel_output(members_[i]->finish(columns), x));
  }
  return outputs;
}

int64_t fuse_same_input_layers(Transformer& model) {
  auto kernel = [](std::unique_ptr<Linear>& slot) { return dynamic_cast<KernelLinear*>(slot.get()); };
  int64_t groups = 0;
  for (TransformerBlock& block : model.mutable_blocks()) {
    groups += FusedFirstFactors::fuse({kernel(block.q_proj), kernel(block.k_proj), kernel(block.v_proj)});
    groups += FusedFirstFactors::fuse({kernel(block.gate_proj), kernel(block.up_proj)});
  }
  return groups;
}

}  // namespace lmshrink
