// TransformerLogProbs: the model's forward pass followed by log_softmax, without autograd.
#include "lmshrink/eval/log_prob_model.h"

#include <torch/torch.h>

#include "lmshrink/model/transformer.h"

namespace lmshrink {

at::Tensor TransformerLogProbs::log_probs(const at::Tensor& tokens) const {
  torch::NoGradGuard no_grad;
  return torch::log_softmax(model_.forward(tokens), -1);
}

int64_t TransformerLogProbs::max_length() const { return model_.config().max_position_embeddings; }

}  // namespace lmshrink
