// Healing (ROCKET arXiv 2602.11008 §4.2; ALGORITHMS.md §3.6): a short fine-tune of a compressed model's factor
// values on next-token loss, with every sparsity pattern fixed and every other weight (embeddings, norms, dense
// layers, lm_head) frozen. Trained: the dictionary and nonzero values of DictSparse layers and both factors of
// LowRank layers. The paper gives no optimizer settings; lmshrink uses AdamW (weight decay 0 by default, so the
// factors are not shrunk) with each factor's learning rate relative to its RMS (lr × rms(factor): the factors of a
// whitened factorization differ in scale by orders of magnitude, and Adam's steps are about lr in absolute terms),
// linear warm-up then cosine decay to 10 % of the peak, gradient-norm clipping, and a seeded order of windows.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "lmshrink/model/next_token_loss.h"  // the loss healing minimises
#include "lmshrink/model/transformer.h"

namespace lmshrink {

struct HealOptions {
  int64_t batch_size = 8;       // windows per step
  double lr = 1e-3;             // peak learning rate, relative to each factor's RMS
  double weight_decay = 0.0;
  double warmup_fraction = 0.05;
  double clip_norm = 1.0;       // gradient-norm clipping (≤ 0: none)
  uint64_t seed = 0;            // order of the windows
};

struct HealResult {
  int64_t steps = 0, tokens = 0, trainable = 0;  // trainable: values updated
  std::vector<double> losses;                   // mean next-token loss of every step
};

// The factor tensors healing trains (shared with the model's layers); throws lmshrink::Error when the model has no
// compressed layer or a quantized one (heal before --quantize).
std::vector<at::Tensor> healable_factors(const Transformer& model);

// The learning rate of step `step` of `steps`: linear warm-up over the first warmup_fraction, then cosine to 0.1 lr.
double heal_learning_rate(const HealOptions& options, int64_t step, int64_t steps);

// windows: int64 [n, seq] training windows (calib/sampling.h); one step takes batch_size of them in a seeded
// permutation (cycled). on_step(step, loss) reports progress. The model's factors change in place.
HealResult heal_model(Transformer& model, const at::Tensor& windows, int64_t steps, const HealOptions& options,
                      const std::function<void(int64_t, double)>& on_step = nullptr);

}  // namespace lmshrink
