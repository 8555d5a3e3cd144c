// Models trained from scratch by `lmshrink train` (MASA, Zhussip et al., AAAI'26, §"From-scratch training" and Table 1;
// ALGORITHMS.md §5): a Llama-style decoder (RMSNorm, RoPE, SwiGLU MLP, tied embeddings) whose attention is one of
//   dense       q, k, v, o dense, as many KV heads as query heads;
//   gqa         dense with num_kv_heads = gqa_kv_heads (grouped-query attention);
//   lowrank     q, k, v, o as rank-r factors (LowRank, y = (x A) B);
//   masa-qkv    q, k, v each from one bank of S shared matrix atoms for all layers, o dense;
//   masa-qkvo   q, k, v and o from banks of S atoms (S = round(L/3) by default, the paper's choice).
// MASA coefficients are produced during training by a per-layer trainable embedding fed through a 3-layer MLP (the paper's
// parametrisation; no orthogonality or norm constraint); collapse() evaluates the MLP once and keeps only the plain
// coefficient matrix C [L, S], which is what a saved model stores (model/shared_atoms.h).
#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "lmshrink/model/shared_atoms.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

struct TrainConfig {
  // Architecture.
  std::string attention = "dense";  // dense, gqa, lowrank, masa-qkv, masa-qkvo
  int64_t hidden_size = 64, intermediate_size = 172, num_layers = 6, num_heads = 8;
  int64_t gqa_kv_heads = 2;         // gqa: KV heads
  int64_t lowrank_rank = 16;        // lowrank: r of every attention projection
  int64_t masa_atoms = 0;           // masa: S per projection type; 0 = max(1, round(L / 3))
  int64_t coef_embedding = 16, coef_hidden = 32;  // masa: per-layer embedding width and MLP hidden width
  int64_t seq_len = 128;            // training window = model context
  double rope_theta = 10000.0, init_std = 0.02;
  // Optimisation (AdamW, linear warm-up then cosine to 10 % of lr, gradient-norm clipping; compress/heal.h).
  int64_t batch_size = 16, steps = 1000;
  double lr = 3e-3, weight_decay = 0.1, warmup_fraction = 0.05, clip_norm = 1.0;
  uint64_t seed = 0;                // initialisation and data order
  int64_t eval_every = 100;         // validation perplexity every N steps (and at the end); 0: at the end only
  int64_t eval_windows = 64;        // validation windows (the first N of the validation text)
  int64_t checkpoint_every = 0;     // steps between checkpoints (0: none)
};

// Reads a config JSON (every field optional; unknown fields are errors); `origin` names the file in messages.
TrainConfig parse_train_config(const nlohmann::json& json, const std::string& origin);
nlohmann::json train_config_json(const TrainConfig& config);
// S of the masa variants for this config.
int64_t train_masa_atoms(const TrainConfig& config);

// A masa coefficient generator: C = W3 gelu(W2 gelu(W1 e_l + b1) + b2) + b3 for every layer's embedding e_l.
struct CoefficientMlp {
  at::Tensor embedding;              // [L, e]
  at::Tensor w1, b1, w2, b2, w3, b3;  // [e, h], [h], [h, h], [h], [h, S], [S]
  at::Tensor forward() const;        // [L, S]
  std::vector<at::Tensor> parameters() const;
};

struct TrainableModel {
  std::unique_ptr<Transformer> model;
  std::vector<std::pair<std::string, at::Tensor>> parameters;  // every trained tensor, named; checkpoints use this order
  std::vector<std::shared_ptr<AtomBank>> banks;                // masa: one per shared projection type
  std::vector<CoefficientMlp> mlps;                            // masa: mlps[i] produces banks[i]->coefficients
  // Sets every bank's coefficients to its MLP's output (with autograd): call before each training forward.
  void refresh_coefficients();
  // Evaluates the MLPs once, keeps only C (detached) and switches the SharedAtoms layers to synthesize mode.
  void collapse();
};

// Throws lmshrink::Error on an unknown attention variant or inconsistent sizes.
TrainableModel build_trainable_model(const TrainConfig& config, int64_t vocab_size);

// Stored parameters of the attention projections (q, k, v, o of every layer; atoms counted once) and of the whole model.
int64_t attention_params(const Transformer& model);
int64_t model_params(const Transformer& model);

}  // namespace lmshrink
