// Consistency checks for ModelConfig.
#include "lmshrink/model/config.h"

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
  LMSHRINK_CHECK(c.max_position_embeddings > 0, origin, ": max_position_embeddings must be positive");
}

}  // namespace lmshrink
