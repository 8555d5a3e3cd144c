// Fused first factors (issue 11, "q|k|v and gate|up first factors fused when they share an input"): kernel layers
// that read the same input (fast_linear.h) run their first packed factors F_i [r_i, in] as one product
// z = [x F_1ᵀ | x F_2ᵀ | ...] (PackedMatrix::multiply_side_by_side: in decode one pass of x and one thread-pool
// dispatch over all their rows, so small factors such as k and v share the threads with q), and each layer finishes
// on its columns of z. Nothing is copied: every F stays where it is (a CoSpaDi group's shared dictionary included),
// and every z column is the dot product its layer computes alone, so decode gives the same bits fused and unfused.
// Prefill (more than kSmallBatch tokens) runs each layer's own BLAS products: side by side they would be the same
// products plus a concatenation (measured 2-4 % slower on the synthetic 1B model, docs/results.md).
#pragma once
#include <vector>

#include "lmshrink/model/transformer.h"
#include "lmshrink/runtime/fast_linear.h"

namespace lmshrink {

class FusedFirstFactors : public SameInputGroup {
 public:
  // Fuses `layers` when they can be: two or more kernel layers of one input width and weight storage, none already
  // fused. Returns whether it fused them.
  static bool fuse(const std::vector<KernelLinear*>& layers);
  std::vector<const Linear*> members() const override;
  std::vector<at::Tensor> forward(const at::Tensor& x) const override;

 private:
  std::vector<const KernelLinear*> members_;  // not owned: each member owns the group
};

// Fuses q|k|v and gate|up of every block where they qualify; returns the number of groups formed.
int64_t fuse_same_input_layers(Transformer& model);

}  // namespace lmshrink
