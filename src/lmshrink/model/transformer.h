// The Llama-family decoder forward pass (Llama 2/3, Mistral, Qwen, llama2.c): token embeddings,
// RMSNorm, rotate-half RoPE, grouped-query attention with a KV cache, SwiGLU MLP, tied or separate
// classifier. Weights are in Hugging Face layout: loaders of other layouts (llama2.c's interleaved
// RoPE) convert at load time, so there is exactly one forward pass. Every projection is a Linear.
#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "lmshrink/model/config.h"
#include "lmshrink/model/linear.h"

namespace lmshrink {

struct TransformerBlock {
  at::Tensor attn_norm;  // [hidden]
  at::Tensor mlp_norm;   // [hidden]
  at::Tensor q_norm, k_norm;  // [head_dim], Qwen3 only (undefined otherwise)
  std::unique_ptr<Linear> q_proj, k_proj, v_proj, o_proj;  // q: [heads*head_dim, hidden], ...
  std::unique_ptr<Linear> gate_proj, up_proj, down_proj;  // gate/up: [intermediate, hidden]
};

// Keys and values of every layer for a batch of sequences, filled position by position.
struct KVCache {
  KVCache(const ModelConfig& config, int64_t batch, int64_t capacity, const at::TensorOptions& options);
  std::vector<at::Tensor> keys;    // per layer [batch, kv_heads, capacity, head_dim]
  std::vector<at::Tensor> values;  // per layer [batch, kv_heads, capacity, head_dim]
  int64_t length = 0;              // positions filled so far
  int64_t capacity = 0;
};

// The four distinct linear inputs of a block (q/k/v share one, gate/up share one), for calibration.
enum class LinearInput { kQkv = 0, kO = 1, kGateUp = 2, kDown = 3 };

enum class Grad { kOff, kKeep };

// Sees every linear input of a block as the forward pass computes it: x is [batch, seq, in].
class BlockObserver {
 public:
  virtual ~BlockObserver() = default;
  virtual void on_linear_input(int64_t layer, LinearInput input, const at::Tensor& x) = 0;
};

// A named view of one linear layer, for inspection, calibration and compression.
struct NamedLinear {
  std::string name;  // Hugging Face name without ".weight", e.g. "model.layers.3.mlp.down_proj"
  const Linear* linear;
};

class Transformer {
 public:
  // lm_head may be null when the classifier is tied to embed_tokens ([vocab, hidden]).
  Transformer(ModelConfig config, at::Tensor embed_tokens, std::vector<TransformerBlock> blocks,
              at::Tensor final_norm, std::unique_ptr<Linear> lm_head);

  const ModelConfig& config() const { return config_; }
  // tokens: [batch, seq] int64. Returns logits [batch, seq, vocab] float32. With a cache, the
  // tokens continue the cached positions and their keys/values are appended. Grad::kOff (inference) runs without
  // autograd; Grad::kKeep leaves autograd as the caller set it (healing and training take gradients through it).
  at::Tensor forward(const at::Tensor& tokens, KVCache* cache = nullptr, Grad grad = Grad::kOff) const;

  // The stages of forward(), public so calibration can stream block by block.
  at::Tensor embed(const at::Tensor& tokens) const;  // -> hidden [batch, seq, hidden]
  at::Tensor block_forward(int64_t layer, const at::Tensor& hidden, int64_t start_pos, KVCache* cache,
                           BlockObserver* observer = nullptr) const;
  at::Tensor head(const at::Tensor& hidden) const;   // final norm + classifier -> logits

  const at::Tensor& embed_tokens() const { return embed_tokens_; }
  const at::Tensor& final_norm() const { return final_norm_; }
  const std::vector<TransformerBlock>& blocks() const { return blocks_; }
  std::vector<TransformerBlock>& mutable_blocks() { return blocks_; }  // for compression: swap Linears
  const Linear& lm_head() const { return *lm_head_; }
  std::unique_ptr<Linear>& mutable_lm_head() { return lm_head_; }  // for inference kernels: swap the classifier
  bool lm_head_tied() const { return lm_head_tied_; }
  std::vector<NamedLinear> named_linears() const;  // every block projection and lm_head

 private:
  at::Tensor attention(const TransformerBlock& block, int64_t layer, const at::Tensor& normed,
                       int64_t start_pos, KVCache* cache, BlockObserver* observer) const;
  at::Tensor apply_rope(const at::Tensor& x, int64_t start_pos) const;  // x [batch, heads, seq, head_dim]

  ModelConfig config_;
  at::Tensor embed_tokens_;  // [vocab, hidden]
  std::vector<TransformerBlock> blocks_;
  at::Tensor final_norm_;    // [hidden]
  std::unique_ptr<Linear> lm_head_;
  bool lm_head_tied_ = false;
  at::Tensor rope_cos_;      // [max_positions, head_dim / 2] float32
  at::Tensor rope_sin_;      // [max_positions, head_dim / 2] float32
};

// Replaces every projection of the block by a ReleasedLinear (linear.h) carrying bytes_on_disk[i] (projection-table
// order; empty: the layer's own count): streaming work calls it once the block is written.
void release_block(TransformerBlock& block, const std::vector<int64_t>& bytes_on_disk = {});

// RMSNorm as in HF Llama: computed in float32, x * rsqrt(mean(x^2) + eps) * weight.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace lmshrink
