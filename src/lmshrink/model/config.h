// The architecture description shared by every loader and the forward pass (Llama family:
// Llama 2/3, Mistral, Qwen2/3 and llama2.c checkpoints all map onto it).
#pragma once
#include <cstdint>
#include <string>

namespace lmshrink {

struct ModelConfig {
  std::string architecture = "LlamaForCausalLM";
  std::string source_format;           // "llama2c", "synthetic", ...
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;                // hidden_size / num_heads unless the config says otherwise
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0; // the model's context length
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  int32_t bos_token_id = 1;
  int32_t eos_token_id = 2;
};

// Throws lmshrink::Error when sizes are missing or inconsistent (heads not dividing, ...).
void validate_config(const ModelConfig& config, const std::string& origin);

}  // namespace lmshrink
