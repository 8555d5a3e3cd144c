// Bias lookup across Linear formats (see layer_weight.h).
#include "lmshrink/compress/layer_weight.h"

#include "lmshrink/model/low_rank.h"

namespace lmshrink {

at::Tensor layer_bias(const Linear& layer) {
  if (const auto* dense = dynamic_cast<const DenseLinear*>(&layer)) return dense->bias();
  if (const auto* low_rank = dynamic_cast<const LowRankLinear*>(&layer)) return low_rank->bias();
  return at::Tensor();
}

}  // namespace lmshrink
