// RoPE inverse frequencies with scaling (see rope.h).
#include "lmshrink/model/rope.h"

#include <cmath>

#include "lmshrink/util/error.h"

namespace lmshrink {

at::Tensor rope_inv_freq(const ModelConfig& c) {
  at::Tensor exponents = torch::arange(0, c.head_dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<float>(c.head_dim);
  at::Tensor inv_freq = 1.0 / torch::pow(c.rope_theta, exponents);
  if (c.rope_type == "default") return inv_freq;
  if (c.rope_type == "linear") return inv_freq / c.rope_factor;
  LMSHRINK_CHECK(c.rope_type == "llama3", "rope_scaling: unsupported rope_type '", c.rope_type,
                 "' (supported: default, linear, llama3)");
  const double old_context = static_cast<double>(c.rope_original_max_positions);
  const double low_freq_wavelen = old_context / c.rope_low_freq_factor;
  const double high_freq_wavelen = old_context / c.rope_high_freq_factor;
  at::Tensor wavelen = 2.0 * M_PI / inv_freq;
  at::Tensor scaled = torch::where(wavelen > low_freq_wavelen, inv_freq / c.rope_factor, inv_freq);
  at::Tensor smooth = (old_context / wavelen - c.rope_low_freq_factor) / (c.rope_high_freq_factor - c.rope_low_freq_factor);
  at::Tensor smoothed = (1 - smooth) * scaled / c.rope_factor + smooth * scaled;
  at::Tensor is_medium = torch::logical_and(wavelen >= high_freq_wavelen, wavelen <= low_freq_wavelen);
  return torch::where(is_medium, smoothed, scaled);
}

}  // namespace lmshrink
