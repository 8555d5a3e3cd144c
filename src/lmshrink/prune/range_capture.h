// Calibration activations of one block range for the ReplaceMe transform (ALGORITHMS.md §6.2, paper
// eqs. 1-6): with k the last kept block before the range [first, last],
//   M = MLP output of block k (its down_proj output, bias included)          [tokens, hidden]
//   Y = h_k - M, the residual stream around that MLP
//   R = h_last - Y, so that the range is replaced by  h_last ~ Y + M T       [tokens, hidden]
// over every token of every calibration sample (padding does not arise: samples are unpadded).
// Final-norm edge case: when last = N-1, h_last is the output of the last layer BEFORE the final norm
// (the reference takes HF's post-norm hidden_states[-1] as its target). The final norm stays in the
// head and is applied to Y + M T, exactly as it was to h_{N-1}, so the fit lives in the residual space
// that the merged down_proj writes into and needs no special case downstream.
// Hidden states are streamed by BlockStreamer from the model AS IT IS NOW: blocks marked in `dropped`
// are skipped (earlier ranges already removed) and kept blocks use their current weights (earlier
// transforms already merged), so several ranges are fitted one after another on the pruned model.
// Memory: the streamer's [n, seq, hidden] plus M and R of the same size, float32.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "lmshrink/model/transformer.h"
#include "lmshrink/prune/block_selection.h"

namespace lmshrink {

struct RangeActivations {
  int64_t kept_block = -1;  // k, the block whose down_proj receives T (original index)
  at::Tensor mlp_out;       // M [tokens, hidden] float32
  at::Tensor target;        // R = h_last - Y [tokens, hidden] float32
};

// The last block before range.first that is not dropped; -1 when there is none.
int64_t last_kept_block_before(const BlockRange& range, const std::vector<bool>& dropped);

// dropped: one flag per block of model (true: skipped). Throws when no kept block precedes the range.
RangeActivations capture_range(const Transformer& model, const at::Tensor& calib_tokens, const BlockRange& range,
                               const std::vector<bool>& dropped, int64_t batch_size);

}  // namespace lmshrink
