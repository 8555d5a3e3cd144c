// Llama-family decoder forward pass (see transformer.h). RoPE is the rotate-half (NEOX) form of
// HF transformers' LlamaRotaryEmbedding: inv_freq_i = theta^(-2i/head_dim), computed in float32.
#include "lmshrink/model/transformer.h"

#include <cmath>

#include "lmshrink/model/projections.h"
#include "lmshrink/model/rope.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor x32 = x.to(torch::kFloat32);
  at::Tensor inv_rms = torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return (x32 * inv_rms).to(x.scalar_type()) * weight;
}

KVCache::KVCache(const ModelConfig& config, int64_t batch, int64_t capacity_positions,
                 const at::TensorOptions& options)
    : capacity(capacity_positions) {
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    keys.push_back(torch::zeros({batch, config.num_kv_heads, capacity, config.head_dim}, options));
    values.push_back(torch::zeros({batch, config.num_kv_heads, capacity, config.head_dim}, options));
  }
}

Transformer::Transformer(ModelConfig config, at::Tensor embed_tokens, std::vector<TransformerBlock> blocks,
                         at::Tensor final_norm, std::unique_ptr<Linear> lm_head)
    : config_(std::move(config)), embed_tokens_(std::move(embed_tokens)), blocks_(std::move(blocks)),
      final_norm_(std::move(final_norm)), lm_head_(std::move(lm_head)) {
  validate_config(config_, "model config");
  LMSHRINK_CHECK(static_cast<int64_t>(blocks_.size()) == config_.num_layers, "model: expected ",
                 config_.num_layers, " blocks, got ", blocks_.size());
  if (!lm_head_) {
    lm_head_ = std::make_unique<DenseLinear>(embed_tokens_);
    lm_head_tied_ = true;
  }
  for (const TransformerBlock& b : blocks_) {
    LMSHRINK_CHECK(b.q_norm.defined() == config_.qk_norm && b.k_norm.defined() == config_.qk_norm,
                   "model: q_norm/k_norm must be present exactly when the config asks for qk_norm");
  }
  at::Tensor inv_freq = rope_inv_freq(config_);
  at::Tensor positions = torch::arange(config_.max_position_embeddings, torch::kInt64).to(torch::kFloat32);
  at::Tensor angles = torch::outer(positions, inv_freq);  // [max_positions, head_dim / 2]
  rope_cos_ = angles.cos();
  rope_sin_ = angles.sin();
}

at::Tensor Transformer::embed(const at::Tensor& tokens) const {
  LMSHRINK_CHECK(tokens.dim() == 2, "forward: tokens must be [batch, seq], got ", tokens.dim(), "-D");
  at::Tensor flat = tokens.reshape({-1}).to(torch::kInt64);
  if (flat.numel() > 0) {
    int64_t low = flat.min().item<int64_t>(), high = flat.max().item<int64_t>();
    LMSHRINK_CHECK(low >= 0 && high < config_.vocab_size, "forward: token id out of range [0, ",
                   config_.vocab_size, "): got ", (low < 0 ? low : high));
  }
  at::Tensor rows = embed_tokens_.index_select(0, flat).view({tokens.size(0), tokens.size(1), config_.hidden_size});
  return compute_tensor(rows);  // a bf16/f16 table gives float32 hidden states
}

at::Tensor Transformer::apply_rope(const at::Tensor& x, int64_t start_pos) const {
  int64_t seq = x.size(2), half = config_.head_dim / 2;
  at::Tensor cos = rope_cos_.narrow(0, start_pos, seq).to(x.scalar_type());  // [seq, half]
  at::Tensor sin = rope_sin_.narrow(0, start_pos, seq).to(x.scalar_type());
  at::Tensor x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  return torch::cat({x1 * cos - x2 * sin, x2 * cos + x1 * sin}, -1);
}

at::Tensor Transformer::attention(const TransformerBlock& block, int64_t layer, const at::Tensor& normed,
                                  int64_t start_pos, KVCache* cache, BlockObserver* observer) const {
  if (observer) observer->on_linear_input(layer, LinearInput::kQkv, normed);
  int64_t batch = normed.size(0), seq = normed.size(1), head_dim = config_.head_dim;
  std::vector<at::Tensor> qkv =
      forward_same_input({block.q_proj.get(), block.k_proj.get(), block.v_proj.get()}, normed);
  at::Tensor q = qkv[0].view({batch, seq, config_.num_heads, head_dim}).transpose(1, 2);
  at::Tensor k = qkv[1].view({batch, seq, config_.num_kv_heads, head_dim}).transpose(1, 2);
  at::Tensor v = qkv[2].view({batch, seq, config_.num_kv_heads, head_dim}).transpose(1, 2);
  if (config_.qk_norm) {  // Qwen3: RMSNorm over each head's vector, before RoPE
    q = rms_norm(q, block.q_norm, config_.rms_norm_eps);
    k = rms_norm(k, block.k_norm, config_.rms_norm_eps);
  }
  q = apply_rope(q, start_pos);
  k = apply_rope(k, start_pos);
  if (cache) {
    cache->keys[layer].narrow(2, start_pos, seq).copy_(k);
    cache->values[layer].narrow(2, start_pos, seq).copy_(v);
    k = cache->keys[layer].narrow(2, 0, start_pos + seq);
    v = cache->values[layer].narrow(2, 0, start_pos + seq);
  }
  int64_t group = config_.num_heads / config_.num_kv_heads;  // query heads per KV head
  if (group > 1) {
    k = k.repeat_interleave(group, 1);
    v = v.repeat_interleave(group, 1);
  }
  at::Tensor scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(head_dim));
  if (seq > 1) {  // causal mask: query i (at start_pos + i) sees keys 0..start_pos + i
    int64_t keys_len = k.size(2);
    at::Tensor key_pos = torch::arange(keys_len, torch::kInt64).unsqueeze(0);
    at::Tensor query_pos = torch::arange(start_pos, start_pos + seq, torch::kInt64).unsqueeze(1);
    scores = scores.masked_fill((key_pos > query_pos).to(scores.device()), -INFINITY);
  }
  at::Tensor probs = torch::softmax(scores.to(torch::kFloat32), -1).to(q.scalar_type());
  at::Tensor mixed = torch::matmul(probs, v).transpose(1, 2).reshape({batch, seq, config_.num_heads * head_dim});
  if (observer) observer->on_linear_input(layer, LinearInput::kO, mixed);
  return block.o_proj->forward(mixed);
}

at::Tensor Transformer::block_forward(int64_t layer, const at::Tensor& hidden, int64_t start_pos,
                                      KVCache* cache, BlockObserver* observer) const {
  const TransformerBlock& block = blocks_[layer];
  at::Tensor x = hidden + attention(block, layer, rms_norm(hidden, block.attn_norm, config_.rms_norm_eps),
                                    start_pos, cache, observer);
  at::Tensor normed = rms_norm(x, block.mlp_norm, config_.rms_norm_eps);
  if (observer) observer->on_linear_input(layer, LinearInput::kGateUp, normed);
  std::vector<at::Tensor> gate_up = forward_same_input({block.gate_proj.get(), block.up_proj.get()}, normed);
  at::Tensor activated = torch::silu(gate_up[0]) * gate_up[1];
  if (observer) observer->on_linear_input(layer, LinearInput::kDown, activated);
  return x + block.down_proj->forward(activated);
}

at::Tensor Transformer::head(const at::Tensor& hidden) const {
  return lm_head_->forward(rms_norm(hidden, final_norm_, config_.rms_norm_eps)).to(torch::kFloat32);
}

at::Tensor Transformer::forward(const at::Tensor& tokens, KVCache* cache, Grad grad) const {
  at::AutoGradMode grad_mode(grad == Grad::kKeep && at::GradMode::is_enabled());
  int64_t start_pos = cache ? cache->length : 0;
  int64_t seq = tokens.size(-1);
  LMSHRINK_CHECK(start_pos + seq <= config_.max_position_embeddings, "forward: ", start_pos + seq,
                 " positions exceed the model context of ", config_.max_position_embeddings);
  LMSHRINK_CHECK(config_.sliding_window <= 0 || start_pos + seq <= config_.sliding_window, "forward: ",
                 start_pos + seq, " positions exceed the sliding window of ", config_.sliding_window,
                 " (sliding-window attention is not implemented; use a shorter --seq-len)");
  LMSHRINK_CHECK(!cache || start_pos + seq <= cache->capacity, "forward: KV cache holds ", cache->capacity,
                 " positions, need ", start_pos + seq);
  at::Tensor hidden = embed(tokens);
  for (int64_t layer = 0; layer < config_.num_layers; ++layer) {
    hidden = block_forward(layer, hidden, start_pos, cache);
  }
  if (cache) cache->length = start_pos + seq;
  return head(hidden);
}

void release_block(TransformerBlock& block, const std::vector<int64_t>& bytes_on_disk) {
  size_t i = 0;
  for (const ProjectionInfo& info : projection_table()) {
    std::unique_ptr<Linear>& slot = block.*info.member;
    int64_t bytes = i < bytes_on_disk.size() ? bytes_on_disk[i] : slot->params().bytes;
    slot = std::make_unique<ReleasedLinear>(*slot, bytes);
    ++i;
  }
}

std::vector<NamedLinear> Transformer::named_linears() const {
  std::vector<NamedLinear> result;
  for (size_t layer = 0; layer < blocks_.size(); ++layer) {
    for (const ProjectionInfo& info : projection_table()) {
      result.push_back({projection_layer_name(static_cast<int64_t>(layer), info.name), (blocks_[layer].*info.member).get()});
    }
  }
  result.push_back({"lm_head", lm_head_.get()});
  return result;
}

}  // namespace lmshrink
