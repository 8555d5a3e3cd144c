// Block-by-block calibration streaming (ALGORITHMS.md §8 items 1 and 4). The streamer holds only the
// hidden states entering one decoder block for every calibration sample, [n, seq, hidden] float32 on
// the model's device, and runs that block in mini-batches of batch_size samples (a full causal
// forward from position 0, no KV cache), feeding a BlockObserver that accumulates the four input
// Grams (calib/gram.h).
//   one-shot   (ROCKET, Basis Sharing, CoSpaDi, SVD-LLM step 1): statistics of every block from the
//              original model: collect_all_one_shot, or collect(l) then advance(l) for each l before
//              compressing anything.
//   sequential (SVD-LLM whitening_local_update, GPTQ-style): collect(l), compress block l (swap its
//              Linears in model.mutable_blocks()), then advance(l): block l's outputs are computed with
//              the CURRENT (compressed) weights, so block l + 1 is calibrated on compressed inputs.
//   depth pruning (ReplaceMe, prune/): advance(l, &observer) shows block l's linear inputs to the
//              caller's observer (the MLP output is taken from the down_proj input), and skip(l)
//              steps over a block already removed, so a model with dropped blocks streams unchanged.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "lmshrink/calib/gram.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

class BlockStreamer {
 public:
  // calib_tokens: int64 [n, seq]. Embeds them (the held inputs of block 0). The model must outlive
  // the streamer; it is read at every call, so weights swapped in between calls are used.
  BlockStreamer(const Transformer& model, at::Tensor calib_tokens, int64_t batch_size);

  // Runs block `layer` on the held inputs and returns its four input Grams; the inputs stay.
  // layer must be next_layer().
  BlockStats collect(int64_t layer);
  // Replaces the held inputs by block `layer`'s outputs (current weights); layer must be next_layer().
  void advance(int64_t layer);
  // advance(layer), also showing every linear input of the block to `observer`: x [count, seq, in]
  // per mini-batch of `count` samples, in sample order.
  void advance(int64_t layer, BlockObserver* observer);
  // Steps over block `layer` without running it: the held states enter block layer + 1 unchanged, as
  // if the block were deleted. layer must be next_layer().
  void skip(int64_t layer);
  // collect(layer) and advance(layer) in one pass over the samples (one block forward, not two).
  BlockStats collect_and_advance(int64_t layer);

  int64_t next_layer() const { return next_layer_; }  // the block the held inputs enter
  const at::Tensor& hidden() const { return hidden_; }  // [n, seq, hidden] float32
  int64_t samples() const { return hidden_.size(0); }

 private:
  BlockStats run(int64_t layer, bool observe, bool keep_outputs, BlockObserver* extra = nullptr);
  const Transformer& model_;
  at::Tensor hidden_;  // [n, seq, hidden]
  int64_t batch_size_;
  int64_t next_layer_ = 0;
};

// Statistics of every block of the original model in one streaming pass (one-shot mode).
std::vector<BlockStats> collect_all_one_shot(const Transformer& model, const at::Tensor& calib_tokens,
                                             int64_t batch_size);

}  // namespace lmshrink
