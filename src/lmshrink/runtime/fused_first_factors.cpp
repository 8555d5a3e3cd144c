// Fusion of the first factors of kernel layers that share an input (see fused_first_factors.h).
#include "lmshrink/runtime/fused_first_factors.h"

#include "lmshrink/util/error.h"

namespace lmshrink {

bool FusedFirstFactors::fuse(const std::vector<KernelLinear*>& layers) {
  if (layers.size() < 2) return false;
  for (KernelLinear* layer : layers) {
    if (layer == nullptr || layer->same_input_group() != nullptr) return false;
    const PackedMatrix& first = layer->first_factor();
    if (first.cols() != layers.front()->first_factor().cols()) return false;
    if (first.storage() != layers.front()->first_factor().storage()) return false;
  }
  auto group = std::make_shared<FusedFirstFactors>();
  group->members_.assign(layers.begin(), layers.end());
  for (KernelLinear* layer : layers) layer->join_group(group);
  return true;
}

std::vector<const Linear*> FusedFirstFactors::members() const {
  return std::vector<const Linear*>(members_.begin(), members_.end());
}

std::vector<at::Tensor> FusedFirstFactors::forward(const at::Tensor& x) const {
  if (x.numel() / x.size(-1) > kSmallBatch) {  // prefill: one BLAS product per layer either way, without the concat
    std::vector<at::Tensor> outputs;
    for (const KernelLinear* member : members_) outputs.push_back(member->forward(x));
    return outputs;
  }
  std::vector<const PackedMatrix*> firsts;
  for (const KernelLinear* member : members_) firsts.push_back(&member->first_factor());
  at::Tensor z = PackedMatrix::multiply_side_by_side(firsts, kernel_input(x, firsts.front()->cols(), "fused"));
  std::vector<at::Tensor> outputs;
  int64_t offset = 0;
  for (const KernelLinear* member : members_) {
    int64_t rows = member->first_factor().rows();
    outputs.push_back(kernel_output(member->finish(z.narrow(1, offset, rows).contiguous()), x));
    offset += rows;
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
