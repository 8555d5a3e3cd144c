// RoPE inverse frequencies of HF transformers' rotary embeddings (modeling_rope_utils.py):
// default theta^(-2i/d); "linear" divides them by factor (same as positions / factor); "llama3"
// keeps high frequencies, divides low ones by factor and interpolates between
// (_compute_llama3_parameters). All in float32, as transformers computes them.
#pragma once
#include <ATen/core/Tensor.h>

#include "lmshrink/model/config.h"

namespace lmshrink {

at::Tensor rope_inv_freq(const ModelConfig& config);  // [head_dim / 2] float32

}  // namespace lmshrink
