// Gram accumulation of linear-layer inputs (ALGORITHMS.md §0, §8 item 2; ROCKET §3.2
// rocket/calib/calib.py): G = X^T X, the uncentered sum over tokens (not an average), accumulated in
// float64 (each batch's x^T x is computed in float64 too, safer than the fp32 GEMM of the reference
// code), with a token count. A batch holding any NaN/Inf is skipped and counted, as ROCKET does.
// Beside the Gram, the per-channel sum of |x| (float64) gives ASVD's abs-mean activation scale
// (ALGORITHMS.md §1.4).
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "lmshrink/model/transformer.h"

namespace lmshrink {

struct LayerStats {
  at::Tensor gram;              // [in, in] float64, sum of x^T x over tokens; undefined until the first batch
  at::Tensor abs_sum;           // [in] float64, sum of |x_j| over tokens; defined with gram
  int64_t tokens = 0;           // rows of X accumulated
  int64_t skipped_batches = 0;  // batches dropped for NaN/Inf
  // x: [..., in], any floating dtype and device; the Gram stays on x's device.
  void accumulate(const at::Tensor& x);
  at::Tensor channel_abs_mean() const;  // abs_sum / tokens, [in] float64; throws when nothing was accumulated
  // Throws, naming the layer, when nothing was accumulated: no calibration reached it, or every batch that did held
  // NaN or Inf activations (finite weights too large for float32).
  void check_accumulated(const std::string& layer_name) const;
};

// The four distinct linear inputs of one decoder block.
struct BlockStats {
  LayerStats qkv;      // input of q_proj, k_proj, v_proj: [hidden, hidden]
  LayerStats o;        // input of o_proj: [heads * head_dim, ...]
  LayerStats gate_up;  // input of gate_proj, up_proj: [hidden, hidden]
  LayerStats down;     // input of down_proj: [intermediate, intermediate]
  LayerStats& of(LinearInput input);
  const LayerStats& of(LinearInput input) const;
};

// Name of a LinearInput for files and messages: "qkv", "o", "gate_up", "down".
const char* linear_input_name(LinearInput input);

}  // namespace lmshrink
