// The bias of a layer being compressed (kept dense beside the factors).
#pragma once
#include "lmshrink/model/linear.h"

namespace lmshrink {

at::Tensor layer_bias(const Linear& layer);  // undefined when the layer has none

}  // namespace lmshrink
