// Fused first factors (issue 11, "q|k|v and gate|up first factors fused when they share an input"): kernel layers
// that read the same input (fast_linear.h) stack their first packed factors F_i [r_i, in] into one matrix
// F = [F_1; F_2; ...], so z = x Fᵀ is one product (one pass over x, one thread-pool dispatch in decode, one larger
// GEMM in prefill) and each layer finishes on its columns of z. It is exact: row r of F is row r of its layer's F_i,
// so every z column is the same dot product as before (decode gives the same bits; prefill runs on BLAS, which may
// block the larger product differently). Each layer keeps a view of its rows, so it still runs on its own.
#pragma once
#include <memory>
#include <vector>

#include "lmshrink/model/transformer.h"
#include "lmshrink/runtime/fast_linear.h"

namespace lmshrink {

class FusedFirstFactors : public SameInputGroup {
 public:
  // Fuses `layers` when they can be: two or more kernel layers of one input width and weight storage, none already
  // fused, none whose first factor another layer shares (a CoSpaDi group's dictionary stays shared, not copied).
  // Returns whether it fused them.
  static bool fuse(const std::vector<KernelLinear*>& layers);
  std::vector<const Linear*> members() const override;
  std::vector<at::Tensor> forward(const at::Tensor& x) const override;

 private:
  PackedMatrix stacked_;                  // [Σ r_i, in]
  std::vector<const KernelLinear*> members_;  // not owned: each member owns the group
  std::vector<int64_t> offsets_;          // member i's rows: [offsets_[i], offsets_[i + 1])
};

// Fuses q|k|v and gate|up of every block where they qualify; returns the number of groups formed.
int64_t fuse_same_input_layers(Transformer& model);

}  // namespace lmshrink
