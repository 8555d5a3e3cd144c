// Adam on the mean cosine distance of M T to R (see cosine_transform.h).
#include "lmshrink/prune/cosine_transform.h"

#include <torch/torch.h>

#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink {

namespace {

// The per-batch training loss: mean (1 - cos) + penalties, differentiable in t.
at::Tensor batch_loss(const at::Tensor& m, const at::Tensor& r, const at::Tensor& t, double l1, double l2) {
  at::Tensor loss = (1.0 - torch::cosine_similarity(m.matmul(t), r, /*dim=*/1, /*eps=*/1e-8)).mean();
  if (l1 > 0) loss = loss + l1 * t.abs().sum();
  if (l2 > 0) loss = loss + l2 * t.pow(2).sum();
  return loss;
}

}  // namespace

double cosine_objective(const at::Tensor& m, const at::Tensor& r, const at::Tensor& transform, double l1, double l2) {
  torch::NoGradGuard no_grad;
  at::Tensor t64 = transform.to(torch::kCPU, torch::kFloat64);
  double cosine_sum = 0.0;
  const int64_t chunk = 65536;
  for (int64_t row = 0; row < m.size(0); row += chunk) {
    int64_t count = std::min(chunk, m.size(0) - row);
    at::Tensor m64 = m.narrow(0, row, count).to(torch::kCPU, torch::kFloat64);
    at::Tensor r64 = r.narrow(0, row, count).to(torch::kCPU, torch::kFloat64);
    cosine_sum += (1.0 - torch::cosine_similarity(m64.matmul(t64), r64, 1, 1e-8)).sum().item<double>();
  }
  return cosine_sum / static_cast<double>(m.size(0)) + l1 * t64.abs().sum().item<double>() +
         l2 * t64.pow(2).sum().item<double>();
}

CosineFit fit_cosine_transform(const at::Tensor& m, const at::Tensor& r, const CosineOptions& options) {
  LMSHRINK_CHECK(m.dim() == 2 && r.sizes() == m.sizes() && m.size(0) > 0, "cosine transform: expected M and R "
                 "[tokens, hidden], got ", m.sizes(), " and ", r.sizes());
  LMSHRINK_CHECK(options.epochs >= 0, "cosine.epochs must be non-negative, got ", options.epochs);
  LMSHRINK_CHECK(options.lr > 0, "cosine.lr must be positive, got ", options.lr);
  LMSHRINK_CHECK(options.batch_tokens > 0, "cosine.batch_tokens must be positive, got ", options.batch_tokens);
  LMSHRINK_CHECK(options.l1 >= 0 && options.l2 >= 0, "cosine.l1 and cosine.l2 must be non-negative");
  int64_t tokens = m.size(0), hidden = m.size(1);
  at::Tensor m32 = m.to(torch::kFloat32), r32 = r.to(torch::kFloat32);
  at::Tensor t = torch::eye(hidden, m32.options()).requires_grad_(true);  // [hidden, hidden]
  CosineFit fit;
  fit.epoch_loss.push_back(cosine_objective(m32, r32, t.detach(), options.l1, options.l2));
  torch::AutoGradMode grad_mode(true);
  torch::optim::Adam adam({t}, torch::optim::AdamOptions(options.lr));
  torch::Generator generator = at::detail::createCPUGenerator(options.seed);
  int64_t batches = (tokens + options.batch_tokens - 1) / options.batch_tokens;
  Progress progress("cosine transform", options.epochs * batches);
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    at::Tensor order = torch::randperm(tokens, generator, torch::TensorOptions().dtype(torch::kInt64));
    order = order.to(m32.device());
    for (int64_t start = 0; start < tokens; start += options.batch_tokens) {
      at::Tensor rows = order.narrow(0, start, std::min(options.batch_tokens, tokens - start));
      adam.zero_grad();
      at::Tensor loss = batch_loss(m32.index_select(0, rows), r32.index_select(0, rows), t, options.l1, options.l2);
      loss.backward();
      adam.step();
      progress.advance();
    }
    fit.epoch_loss.push_back(cosine_objective(m32, r32, t.detach(), options.l1, options.l2));
  }
  progress.finish();
  fit.transform = t.detach().to(torch::kCPU, torch::kFloat64);
  return fit;
}

}  // namespace lmshrink
