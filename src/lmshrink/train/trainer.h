// The training loop of `lmshrink train` (MASA §"From-scratch training"; the paper's hyper-parameters are in its missing
// appendix, so these are lmshrink's): AdamW (weight decay on matrices only, not on norms, biases or the coefficient
// MLP's embeddings), the healing schedule (compress/heal.h: linear warm-up, cosine to 10 % of lr), gradient-norm
// clipping, next-token cross-entropy, a seeded window order (a fresh permutation every epoch), periodic validation
// perplexity, and checkpoint/resume (parameters, optimizer state and step in one torch archive, written atomically).
// On CPU a seed gives the same run twice (same thread count).
#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "lmshrink/tokenizer/tokenizer.h"
#include "lmshrink/train/train_model.h"

namespace lmshrink {

// Every document tokenized with its BOS, concatenated, cut into windows of seq_len tokens (remainder dropped):
// int64 [n, seq_len]. Throws lmshrink::Error (naming `what`) when not one window fits.
at::Tensor token_windows(const std::vector<std::string>& docs, const Tokenizer& tokenizer, int64_t seq_len,
                         const std::string& what);

struct TrainStep {
  int64_t step = 0;        // 0-based
  double loss = 0.0, lr = 0.0;
  double tokens_per_second = 0.0;  // over the steps run so far in this call
};

struct TrainResult {
  int64_t first_step = 0, steps = 0, tokens = 0;        // steps run by this call, from first_step
  std::vector<double> losses;                           // training loss of every step run
  std::vector<std::pair<int64_t, double>> valid_ppl;    // (steps done, validation perplexity)
  double seconds = 0.0;
};

// exp(mean next-token loss) over the windows, with the coefficients as the MLPs give them now.
double validation_perplexity(TrainableModel& trainable, const at::Tensor& windows, int64_t batch_size);

// Trains in place for config.steps steps (from the checkpoint's step when resume). checkpoint: file path, "" for none
// (saved every config.checkpoint_every steps and at the end when given). Throws lmshrink::Error when the training windows
// do not fill one batch.
TrainResult train_model(TrainableModel& trainable, const TrainConfig& config, const at::Tensor& train_windows,
                        const at::Tensor& valid_windows, const std::string& checkpoint, bool resume,
                        const std::function<void(const TrainStep&)>& on_step = nullptr);

}  // namespace lmshrink
