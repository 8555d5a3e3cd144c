// Next-token cross-entropy of a model on token windows: the loss that healing (compress/heal.h) and training
// (train/trainer.h) minimise and the before/after check both report. One full causal forward, no KV cache.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "lmshrink/model/transformer.h"

namespace lmshrink {

// Mean cross-entropy of predicting batch[:, t + 1] from batch[:, :t + 1], batch [b, seq]; with gradients when
// autograd is enabled.
at::Tensor next_token_loss(const Transformer& model, const at::Tensor& batch);

// The same over all windows [n, seq] in batches, without gradients.
double mean_next_token_loss(const Transformer& model, const at::Tensor& windows, int64_t batch_size);

}  // namespace lmshrink
