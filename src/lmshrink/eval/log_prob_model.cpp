// TransformerLogProbs: the model's forward pass followed by log_softmax, without autograd. The blocks run one after
// another as in Transformer::forward, and the pages of memory-mapped weights are released after each (io/mapped_pages.h),
// so evaluating a checkpoint larger than memory keeps one block resident.
#include "lmshrink/eval/log_prob_model.h"

#include <torch/torch.h>

#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/model/transformer.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

at::Tensor streamed_logits(const Transformer& model, const at::Tensor& tokens) {
  torch::NoGradGuard no_grad;
  const ModelConfig& config = model.config();
  LMSHRINK_CHECK(tokens.size(-1) <= config.max_position_embeddings, "forward: ", tokens.size(-1),
                 " positions exceed the model context of ", config.max_position_embeddings);
  LMSHRINK_CHECK(config.sliding_window <= 0 || tokens.size(-1) <= config.sliding_window, "forward: ", tokens.size(-1),
                 " positions exceed the sliding window of ", config.sliding_window,
                 " (sliding-window attention is not implemented; use a shorter --seq-len)");
  at::Tensor hidden = model.embed(tokens);
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    hidden = model.block_forward(layer, hidden, /*start_pos=*/0, /*cache=*/nullptr);
    release_mapped_pages();
  }
  return model.head(hidden);
}

at::Tensor TransformerLogProbs::log_probs(const at::Tensor& tokens) const {
  return torch::log_softmax(streamed_logits(model_, tokens), -1);
}

int64_t TransformerLogProbs::max_length() const { return model_.config().max_position_embeddings; }

}  // namespace lmshrink
