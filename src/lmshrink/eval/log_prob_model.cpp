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

std::pair<at::Tensor, at::Tensor> LogProbModel::log_probs_after_prefix(const at::Tensor& prefix,
                                                                       const at::Tensor& suffixes) const {
  int64_t rows = suffixes.size(0), p = prefix.size(0);
  at::Tensor whole = log_probs(torch::cat({prefix.unsqueeze(0).expand({rows, p}), suffixes}, 1));
  return {whole[0].narrow(0, 0, p), whole.narrow(1, p, suffixes.size(1))};
}

// The prefix runs once (batch 1) into a KV cache; its keys and values are copied to every row, and the suffixes run
// as one batch from position p. Attention sees the same keys and values as in whole rows, so the log-probabilities
// equal log_probs of the whole rows up to float rounding.
std::pair<at::Tensor, at::Tensor> TransformerLogProbs::log_probs_after_prefix(const at::Tensor& prefix,
                                                                             const at::Tensor& suffixes) const {
  torch::NoGradGuard no_grad;
  int64_t rows = suffixes.size(0), p = prefix.size(0), s = suffixes.size(1);
  KVCache shared(model_.config(), 1, p, model_.embed_tokens().options().dtype(torch::kFloat32));
  at::Tensor prefix_log_probs = torch::log_softmax(model_.forward(prefix.unsqueeze(0), &shared), -1)[0];
  KVCache cache(model_.config(), rows, p + s, model_.embed_tokens().options().dtype(torch::kFloat32));
  for (size_t layer = 0; layer < cache.keys.size(); ++layer) {
    cache.keys[layer].narrow(2, 0, p).copy_(shared.keys[layer].expand({rows, -1, -1, -1}));
    cache.values[layer].narrow(2, 0, p).copy_(shared.values[layer].expand({rows, -1, -1, -1}));
  }
  cache.length = p;
  return {prefix_log_probs, torch::log_softmax(model_.forward(suffixes, &cache), -1)};
}

}  // namespace lmshrink
