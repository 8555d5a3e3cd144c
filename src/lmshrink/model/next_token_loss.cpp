// Next-token loss (see next_token_loss.h), on Transformer::forward with gradients kept.
#include "lmshrink/model/next_token_loss.h"

#include <torch/torch.h>

#include <algorithm>

namespace lmshrink {

at::Tensor next_token_loss(const Transformer& model, const at::Tensor& batch) {
  at::Tensor logits = model.forward(batch, nullptr, Grad::kKeep);  // [b, seq, vocab]
  int64_t vocab = logits.size(-1);
  at::Tensor predicted = logits.narrow(1, 0, batch.size(1) - 1).reshape({-1, vocab});
  at::Tensor targets = batch.narrow(1, 1, batch.size(1) - 1).reshape({-1});
  return torch::nn::functional::cross_entropy(predicted, targets);
}

double mean_next_token_loss(const Transformer& model, const at::Tensor& windows, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  double sum = 0.0;
  for (int64_t start = 0; start < windows.size(0); start += batch_size) {
    int64_t count = std::min(batch_size, windows.size(0) - start);
    sum += next_token_loss(model, windows.narrow(0, start, count)).item<double>() * static_cast<double>(count);
  }
  return sum / static_cast<double>(windows.size(0));
}

}  // namespace lmshrink
