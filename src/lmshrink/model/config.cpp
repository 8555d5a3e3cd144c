// Consistency checks for ModelConfig.
#include "lmshrink/model/config.h"

#include <cmath>

#include "lmshrink/util/error.h"

namespace lmshrink {

void validate_config(const ModelConfig& c, const std::string& origin) {
  LMSHRINK_CHECK(c.hidden_size > 0 && c.intermediate_size > 0 && c.num_layers > 0 && c.vocab_size > 0,
                 origin, ": sizes must be positive (hidden ", c.hidden_size, ", intermediate ",
                 c.intermediate_size, ", layers ", c.num_layers, ", vocab ", c.vocab_size, ")");
  LMSHRINK_CHECK(c.num_heads > 0 && c.num_kv_heads > 0 && c.num_heads % c.num_kv_heads == 0, origin,
                 ": num_heads ", c.num_heads, " must be a positive multiple of num_kv_heads ", c.num_kv_heads);
  LMSHRINK_CHECK(c.head_dim > 0 && c.head_dim % 2 == 0, origin, ": head_dim ", c.head_dim,
                 " must be positive and even (RoPE rotates pairs)");
  // Bounds far above every released model keep sizes computed from them (int64 products, the RoPE table) sane.
  LMSHRINK_CHECK(c.hidden_size <= (1 << 20) && c.intermediate_size <= (1 << 22) && c.num_layers <= 4096 &&
                     c.vocab_size <= (1 << 24) && c.num_heads <= 4096 && c.head_dim <= 4096,
                 origin, ": sizes beyond any supported model (hidden ", c.hidden_size, ", intermediate ", c.intermediate_size,
                 ", layers ", c.num_layers, ", vocab ", c.vocab_size, ", heads ", c.num_heads, ", head_dim ", c.head_dim, ")");
  LMSHRINK_CHECK(c.max_position_embeddings > 0 && c.max_position_embeddings <= (1 << 22), origin,
                 ": max_position_embeddings must be in [1, 4194304], got ", c.max_position_embeddings);
  LMSHRINK_CHECK(std::isfinite(c.rope_theta) && c.rope_theta > 0, origin, ": rope_theta must be positive, got ", c.rope_theta);
  LMSHRINK_CHECK(std::isfinite(c.rms_norm_eps) && c.rms_norm_eps > 0, origin, ": rms_norm_eps must be positive, got ", c.rms_norm_eps);
  LMSHRINK_CHECK(std::isfinite(c.rope_factor) && c.rope_factor > 0, origin, ": rope_scaling.factor must be positive, got ",
                 c.rope_factor);
  LMSHRINK_CHECK(c.rope_type != "llama3" || (c.rope_low_freq_factor > 0 && c.rope_high_freq_factor > c.rope_low_freq_factor &&
                                              c.rope_original_max_positions > 0),
                 origin, ": llama3 rope_scaling needs 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0");
  LMSHRINK_CHECK(c.sliding_window >= 0, origin, ": sliding_window must be >= 0, got ", c.sliding_window);
  for (int32_t id : c.eos_token_ids) {
    LMSHRINK_CHECK(id >= -1 && id < c.vocab_size, origin, ": eos_token_id ", id, " is outside the vocabulary of ", c.vocab_size);
  }
  LMSHRINK_CHECK(c.bos_token_id >= -1 && c.bos_token_id < c.vocab_size, origin, ": bos_token_id ", c.bos_token_id,
                 " is outside the vocabulary of ", c.vocab_size);
}

}  // namespace lmshrink
