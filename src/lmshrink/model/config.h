// The architecture description shared by every loader and the forward pass (Llama family:
// Llama 2/3, Mistral, Qwen2/3 and llama2.c checkpoints all map onto it).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

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
  int32_t bos_token_id = 1;            // -1: the model has no BOS
  int32_t eos_token_id = 2;            // the first of eos_token_ids; -1: none
  std::vector<int32_t> eos_token_ids{2};
  bool attention_bias = false;         // biases on q/k/v (Qwen2 always; Llama/Qwen3 attention_bias)
  bool attention_output_bias = false;  // bias on o_proj (Llama/Qwen3 attention_bias)
  bool mlp_bias = false;               // biases on gate/up/down (Llama mlp_bias)
  bool qk_norm = false;                // Qwen3: per-head RMSNorm of q and k before RoPE
  // RoPE scaling: "default", "linear" (positions / factor) or "llama3" (per-frequency smoothing).
  std::string rope_type = "default";
  double rope_factor = 1.0;
  double rope_low_freq_factor = 1.0;
  double rope_high_freq_factor = 4.0;
  int64_t rope_original_max_positions = 8192;
  int64_t sliding_window = 0;          // > 0: attention window (Mistral); sequences beyond it are refused
  std::string torch_dtype = "float32"; // storage dtype named by the checkpoint
};

// Throws lmshrink::Error when sizes are missing or inconsistent (heads not dividing, ...).
void validate_config(const ModelConfig& config, const std::string& origin);

}  // namespace lmshrink
