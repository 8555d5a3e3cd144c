// config.json parsing and writing (see hf_config.h).
#include "lmshrink/io/hf_config.h"

#include <fstream>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

const char* kSupported = "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM";

int64_t required_int(const nlohmann::json& j, const char* key, const std::string& origin) {
  LMSHRINK_CHECK(j.contains(key) && j[key].is_number_integer(), origin, ": missing required integer field \"", key, "\"");
  return j[key].get<int64_t>();
}

template <typename T>
T optional(const nlohmann::json& j, const char* key, T fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return j[key].get<T>();
}

std::vector<int32_t> token_ids(const nlohmann::json& j, const char* key, std::vector<int32_t> fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (j[key].is_array()) return j[key].get<std::vector<int32_t>>();
  return {j[key].get<int32_t>()};
}

void parse_rope(const nlohmann::json& j, ModelConfig& c, const std::string& origin) {
  c.rope_theta = optional<double>(j, "rope_theta", 10000.0);
  const nlohmann::json* scaling = nullptr;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) scaling = &j["rope_parameters"];
  else if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) scaling = &j["rope_scaling"];
  if (!scaling) return;
  const nlohmann::json& s = *scaling;
  c.rope_theta = optional<double>(s, "rope_theta", c.rope_theta);
  c.rope_type = optional<std::string>(s, "rope_type", optional<std::string>(s, "type", "default"));
  if (c.rope_type == "default") return;
  LMSHRINK_CHECK(c.rope_type == "linear" || c.rope_type == "llama3", origin, ": rope_scaling type '", c.rope_type,
                 "' is not supported (supported: default, linear, llama3)");
  LMSHRINK_CHECK(s.contains("factor"), origin, ": rope_scaling of type ", c.rope_type, " needs \"factor\"");
  c.rope_factor = s["factor"].get<double>();
  if (c.rope_type == "llama3") {
    for (const char* key : {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
      LMSHRINK_CHECK(s.contains(key), origin, ": llama3 rope_scaling needs \"", key, "\"");
    }
    c.rope_low_freq_factor = s["low_freq_factor"].get<double>();
    c.rope_high_freq_factor = s["high_freq_factor"].get<double>();
    c.rope_original_max_positions = s["original_max_position_embeddings"].get<int64_t>();
  }
}

}  // namespace

ModelConfig parse_hf_config(const nlohmann::json& j, const std::string& origin) {
  LMSHRINK_CHECK(j.is_object(), origin, ": config.json is not a JSON object");
  LMSHRINK_CHECK(j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty(), origin,
                 ": missing \"architectures\" (supported: ", kSupported, ")");
  ModelConfig c;
  c.architecture = j["architectures"][0].get<std::string>();
  const std::string& arch = c.architecture;
  LMSHRINK_CHECK(arch == "LlamaForCausalLM" || arch == "MistralForCausalLM" || arch == "Qwen2ForCausalLM" ||
                     arch == "Qwen3ForCausalLM",
                 origin, ": unsupported architecture ", arch, " (supported: ", kSupported, ")");
  c.source_format = j.value("lmshrink_synthetic", false) == true ? "synthetic" : "hf";  // lmshrink synthesize's mark
  c.hidden_size = required_int(j, "hidden_size", origin);
  c.intermediate_size = required_int(j, "intermediate_size", origin);
  c.num_layers = required_int(j, "num_hidden_layers", origin);
  c.num_heads = required_int(j, "num_attention_heads", origin);
  c.vocab_size = required_int(j, "vocab_size", origin);
  c.num_kv_heads = optional<int64_t>(j, "num_key_value_heads", c.num_heads);
  c.head_dim = optional<int64_t>(j, "head_dim", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
  c.max_position_embeddings = optional<int64_t>(j, "max_position_embeddings", 2048);
  c.rms_norm_eps = optional<double>(j, "rms_norm_eps", 1e-6);
  c.tie_word_embeddings = optional<bool>(j, "tie_word_embeddings", false);
  c.torch_dtype = optional<std::string>(j, "torch_dtype", optional<std::string>(j, "dtype", "float32"));
  parse_rope(j, c, origin);
  bool is_qwen = arch == "Qwen2ForCausalLM" || arch == "Qwen3ForCausalLM";
  std::vector<int32_t> bos = token_ids(j, "bos_token_id", {is_qwen ? -1 : 1});
  c.bos_token_id = bos.empty() ? -1 : bos[0];
  c.eos_token_ids = token_ids(j, "eos_token_id", {is_qwen ? -1 : 2});
  c.eos_token_id = c.eos_token_ids.empty() ? -1 : c.eos_token_ids[0];
  bool attention_bias = optional<bool>(j, "attention_bias", false);
  c.attention_bias = arch == "Qwen2ForCausalLM" ? true : attention_bias;
  c.attention_output_bias = arch == "Qwen2ForCausalLM" ? false : attention_bias;
  c.mlp_bias = optional<bool>(j, "mlp_bias", false);
  c.qk_norm = arch == "Qwen3ForCausalLM";
  bool sliding = arch == "MistralForCausalLM" || optional<bool>(j, "use_sliding_window", false);
  c.sliding_window = sliding ? optional<int64_t>(j, "sliding_window", 0) : 0;
  validate_config(c, origin);
  return c;
}

nlohmann::json read_hf_config_json(const std::string& path) {
  std::ifstream in(path);
  LMSHRINK_CHECK(in.good(), path, ": cannot open config.json");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  LMSHRINK_CHECK(!j.is_discarded(), path, ": not valid JSON");
  return j;
}

ModelConfig read_hf_config(const std::string& path) { return parse_hf_config(read_hf_config_json(path), path); }

nlohmann::json hf_config_json(const ModelConfig& c) {
  std::string arch = c.architecture.empty() ? "LlamaForCausalLM" : c.architecture;
  std::string model_type = arch == "MistralForCausalLM" ? "mistral"
                           : arch == "Qwen2ForCausalLM" ? "qwen2"
                           : arch == "Qwen3ForCausalLM" ? "qwen3" : "llama";
  nlohmann::json j = {{"architectures", {arch}}, {"model_type", model_type}, {"hidden_size", c.hidden_size},
                      {"intermediate_size", c.intermediate_size}, {"num_hidden_layers", c.num_layers},
                      {"num_attention_heads", c.num_heads}, {"num_key_value_heads", c.num_kv_heads},
                      {"head_dim", c.head_dim}, {"vocab_size", c.vocab_size},
                      {"max_position_embeddings", c.max_position_embeddings}, {"rms_norm_eps", c.rms_norm_eps},
                      {"rope_theta", c.rope_theta}, {"tie_word_embeddings", c.tie_word_embeddings},
                      {"hidden_act", "silu"}, {"torch_dtype", c.torch_dtype}, {"initializer_range", 0.02},
                      {"use_cache", true}};
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_id >= 0) j["eos_token_id"] = c.eos_token_ids.size() > 1 ? nlohmann::json(c.eos_token_ids) : nlohmann::json(c.eos_token_id);
  if (model_type == "llama" || model_type == "qwen3") {
    j["attention_bias"] = c.attention_bias;
    j["mlp_bias"] = c.mlp_bias;
  }
  if (c.rope_type != "default") {
    nlohmann::json s = {{"rope_type", c.rope_type}, {"factor", c.rope_factor}};
    if (c.rope_type == "llama3") {
      s["low_freq_factor"] = c.rope_low_freq_factor;
      s["high_freq_factor"] = c.rope_high_freq_factor;
      s["original_max_position_embeddings"] = c.rope_original_max_positions;
    }
    j["rope_scaling"] = s;
  }
  if (c.sliding_window > 0) j["sliding_window"] = c.sliding_window;
  if (c.source_format == "synthetic") j["lmshrink_synthetic"] = true;  // seeded random weights, not a trained model
  return j;
}

}  // namespace lmshrink
