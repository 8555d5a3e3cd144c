// Healing: AdamW on the compressed layers' factors with a warm-up + cosine schedule (see heal.h).
#include "lmshrink/compress/heal.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <cmath>

#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/model/dict_sparse.h"
#include "lmshrink/model/linear_format.h"
#include "lmshrink/model/low_rank.h"
#include "lmshrink/model/projections.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

std::vector<at::Tensor> healable_factors(const Transformer& model) {
  std::vector<at::Tensor> factors;
  for (const NamedLinear& named : model.named_linears()) {
    if (const auto* dict = dynamic_cast<const DictSparseLinear*>(named.linear)) {
      LMSHRINK_CHECK(!dict->values().quantized && !dict->dictionary().quantized, named.name,
                     ": quantized factors cannot be healed (heal first, then compress with --quantize)");
      if (dict->owns_dictionary()) factors.push_back(dict->dictionary().value);
      factors.push_back(dict->values().value);  // the support (rows) stays fixed
    } else if (const auto* low_rank = dynamic_cast<const LowRankLinear*>(named.linear)) {
      factors.push_back(low_rank->a());
      factors.push_back(low_rank->b());
    }
  }
  LMSHRINK_CHECK(!factors.empty(), "heal: the model has no compressed layer (nothing to heal; run lmshrink compress first)");
  return factors;
}

namespace {

bool owned_float32(const at::Tensor& t) { return t.scalar_type() == torch::kFloat32 && !is_mapped(t.data_ptr()); }

// A healable layer whose factors are not all float32 tensors in memory of their own.
bool needs_owned_copy(const Linear& linear) {
  if (const auto* dict = dynamic_cast<const DictSparseLinear*>(&linear)) {
    return !owned_float32(dict->values().value) || !owned_float32(dict->dictionary().value);
  }
  if (const auto* low_rank = dynamic_cast<const LowRankLinear*>(&linear)) {
    return !owned_float32(low_rank->a()) || !owned_float32(low_rank->b());
  }
  return false;
}

// The factors are trained in float32 and in memory of their own: each layer that needs it is rebuilt from a float32
// copy of its store. Factors read from a checkpoint are bf16/f16 or memory-mapped views of its file, which training must never
// write into (io/mapped_pages.h releases mapped pages, and the file's bytes come back).
void owned_float32_factors(Transformer& model) {
  for (int64_t layer = 0; layer < model.config().num_layers; ++layer) {
    for (const ProjectionInfo& info : projection_table()) {
      std::unique_ptr<Linear>& slot = model.mutable_blocks()[layer].*info.member;
      if (!needs_owned_copy(*slot)) continue;
      std::string name = projection_layer_name(layer, info.name);
      StoredLinear stored = store_linear(name, *slot);
      std::map<std::string, at::Tensor> tensors(stored.tensors.begin(), stored.tensors.end());
      slot = restore_linear(name, stored.entry, slot->out_features(), slot->in_features(), slot->bias().defined(),
                            [&](const std::string& t, const std::vector<int64_t>&, at::ScalarType type) {
                              return (type == kStoredFloat ? tensors.at(t) : tensors.at(t).to(type)).clone();
                            });
    }
  }
}

}  // namespace

double heal_learning_rate(const HealOptions& options, int64_t step, int64_t steps) {
  int64_t warmup = static_cast<int64_t>(std::round(options.warmup_fraction * static_cast<double>(steps)));
  if (step < warmup) return options.lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  double progress = steps - warmup <= 1 ? 1.0 : static_cast<double>(step - warmup) / static_cast<double>(steps - warmup - 1);
  return options.lr * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(M_PI * progress)));
}

HealResult heal_model(Transformer& model, const at::Tensor& windows, int64_t steps, const HealOptions& options,
                      const std::function<void(int64_t, double)>& on_step) {
  LMSHRINK_CHECK(windows.dim() == 2 && windows.size(0) >= 1 && windows.size(1) >= 2, "heal: need training windows [n, seq >= 2]");
  LMSHRINK_CHECK(steps >= 1 && options.batch_size >= 1 && options.lr > 0 && options.warmup_fraction >= 0 &&
                     options.warmup_fraction < 1 && options.weight_decay >= 0,
                 "heal: need steps >= 1, --batch-size >= 1, --lr > 0, --warmup in [0, 1), --weight-decay >= 0");
  owned_float32_factors(model);
  std::vector<at::Tensor> factors = healable_factors(model);
  HealResult result;
  for (at::Tensor& f : factors) {
    f.set_requires_grad(true);
    result.trainable += f.numel();
  }
  // One parameter group per factor, its learning rate scaled by the factor's RMS: a whitened factorization leaves
  // factors orders of magnitude apart (a dictionary S⁻ᵀ D_L shrinks with the Gram's token count, its coefficients
  // grow with it), and Adam's steps are about lr in absolute terms, so one global lr would wreck the small factor.
  std::vector<torch::optim::OptimizerParamGroup> groups;
  std::vector<double> scales;
  for (const at::Tensor& f : factors) {
    scales.push_back(std::max(1e-12, f.detach().pow(2).mean().sqrt().item<double>()));
    groups.emplace_back(std::vector<at::Tensor>{f});
  }
  torch::optim::AdamW adamw(groups, torch::optim::AdamWOptions(options.lr).weight_decay(options.weight_decay));
  at::Generator generator = at::detail::createCPUGenerator(options.seed);
  at::Tensor order = torch::randperm(windows.size(0), generator, torch::kLong);
  int64_t cursor = 0;
  for (int64_t step = 0; step < steps; ++step) {
    std::vector<at::Tensor> picks;
    for (int64_t b = 0; b < options.batch_size; ++b, ++cursor) picks.push_back(order[cursor % windows.size(0)]);
    at::Tensor batch = windows.index_select(0, torch::stack(picks));
    double lr = heal_learning_rate(options, step, steps);
    for (size_t g = 0; g < adamw.param_groups().size(); ++g) adamw.param_groups()[g].options().set_lr(lr * scales[g]);
    adamw.zero_grad();
    at::Tensor loss = next_token_loss(model, batch);
    loss.backward();
    if (options.clip_norm > 0) torch::nn::utils::clip_grad_norm_(factors, options.clip_norm);
    adamw.step();
    result.losses.push_back(loss.item<double>());
    result.tokens += batch.numel();
    if (on_step) on_step(step, result.losses.back());
  }
  for (at::Tensor& f : factors) {
    f.set_requires_grad(false);
    f.mutable_grad() = at::Tensor();
  }
  result.steps = steps;
  return result;
}

}  // namespace lmshrink
