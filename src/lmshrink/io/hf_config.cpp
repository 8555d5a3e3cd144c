// config.json parsing and writing (see hf_config.h).
#include "lmshrink/io/hf_config.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "lmshrink/util/error.h"
#include "lmshrink/util/read_file.h"

namespace lmshrink {

namespace {

const char* kSupported = "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM";

// One typed reader for every field (issue 21): a value of the wrong JSON type, or an integer outside int64 or
// (for T = int32_t) int32, is an error naming the file and the field, never a library exception.
template <typename T>
T typed_value(const nlohmann::json& v, const std::string& key, const std::string& origin) {
  if constexpr (std::is_same_v<T, bool>) {
    LMSHRINK_CHECK(v.is_boolean(), origin, ": field \"", key, "\" must be true or false, got ", v.type_name());
  } else if constexpr (std::is_integral_v<T>) {
    LMSHRINK_CHECK(v.is_number_integer(), origin, ": field \"", key, "\" must be an integer, got ", v.dump().substr(0, 40));
    LMSHRINK_CHECK(v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                                          : v.get<int64_t>() >= std::numeric_limits<T>::min() &&
                                                v.get<int64_t>() <= std::numeric_limits<T>::max(),
                   origin, ": field \"", key, "\" is out of range (", v.dump(), ")");
  } else if constexpr (std::is_floating_point_v<T>) {
    LMSHRINK_CHECK(v.is_number() && std::isfinite(v.get<double>()), origin, ": field \"", key,
                   "\" must be a finite number, got ", v.dump().substr(0, 40));
  } else {
    LMSHRINK_CHECK(v.is_string(), origin, ": field \"", key, "\" must be a string, got ", v.type_name());
  }
  return v.get<T>();
}

int64_t required_int(const nlohmann::json& j, const char* key, const std::string& origin) {
  LMSHRINK_CHECK(j.contains(key) && !j[key].is_null(), origin, ": missing required integer field \"", key, "\"");
  return typed_value<int64_t>(j[key], key, origin);
}

template <typename T>
T optional(const nlohmann::json& j, const char* key, T fallback, const std::string& origin) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return typed_value<T>(j[key], key, origin);
}

std::vector<int32_t> token_ids(const nlohmann::json& j, const char* key, std::vector<int32_t> fallback,
                               const std::string& origin) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_array()) return {typed_value<int32_t>(j[key], key, origin)};
  std::vector<int32_t> ids;
  for (const nlohmann::json& id : j[key]) ids.push_back(typed_value<int32_t>(id, key, origin));
  return ids;
}

void parse_rope(const nlohmann::json& j, ModelConfig& c, const std::string& origin) {
  c.rope_theta = optional<double>(j, "rope_theta", 10000.0, origin);
  const nlohmann::json* scaling = nullptr;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) scaling = &j["rope_parameters"];
  else if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) scaling = &j["rope_scaling"];
  if (!scaling) return;
  const nlohmann::json& s = *scaling;
  c.rope_theta = optional<double>(s, "rope_theta", c.rope_theta, origin);
  c.rope_type = optional<std::string>(s, "rope_type", optional<std::string>(s, "type", std::string("default"), origin), origin);
  if (c.rope_type == "default") return;
  LMSHRINK_CHECK(c.rope_type == "linear" || c.rope_type == "llama3", origin, ": rope_scaling type '", c.rope_type,
                 "' is not supported (supported: default, linear, llama3)");
  LMSHRINK_CHECK(s.contains("factor"), origin, ": rope_scaling of type ", c.rope_type, " needs \"factor\"");
  c.rope_factor = typed_value<double>(s["factor"], "rope_scaling.factor", origin);
  if (c.rope_type == "llama3") {
    for (const char* key : {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
      LMSHRINK_CHECK(s.contains(key), origin, ": llama3 rope_scaling needs \"", key, "\"");
    }
    c.rope_low_freq_factor = typed_value<double>(s["low_freq_factor"], "rope_scaling.low_freq_factor", origin);
    c.rope_high_freq_factor = typed_value<double>(s["high_freq_factor"], "rope_scaling.high_freq_factor", origin);
    c.rope_original_max_positions =
        typed_value<int64_t>(s["original_max_position_embeddings"], "rope_scaling.original_max_position_embeddings", origin);
  }
}

}  // namespace

ModelConfig parse_hf_config(const nlohmann::json& j, const std::string& origin) {
  LMSHRINK_CHECK(j.is_object(), origin, ": config.json is not a JSON object");
  LMSHRINK_CHECK(j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty(), origin,
                 ": missing \"architectures\" (supported: ", kSupported, ")");
  ModelConfig c;
  c.architecture = typed_value<std::string>(j["architectures"][0], "architectures", origin);
  const std::string& arch = c.architecture;
  LMSHRINK_CHECK(arch == "LlamaForCausalLM" || arch == "MistralForCausalLM" || arch == "Qwen2ForCausalLM" ||
                     arch == "Qwen3ForCausalLM",
                 origin, ": unsupported architecture ", arch, " (supported: ", kSupported, ")");
  c.source_format = optional<bool>(j, "lmshrink_synthetic", false, origin) ? "synthetic" : "hf";  // lmshrink synthesize's mark
  c.hidden_size = required_int(j, "hidden_size", origin);
  c.intermediate_size = required_int(j, "intermediate_size", origin);
  c.num_layers = required_int(j, "num_hidden_layers", origin);
  c.num_heads = required_int(j, "num_attention_heads", origin);
  c.vocab_size = required_int(j, "vocab_size", origin);
  c.num_kv_heads = optional<int64_t>(j, "num_key_value_heads", c.num_heads, origin);
  c.head_dim = optional<int64_t>(j, "head_dim", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0, origin);
  c.max_position_embeddings = optional<int64_t>(j, "max_position_embeddings", 2048, origin);
  c.rms_norm_eps = optional<double>(j, "rms_norm_eps", 1e-6, origin);
  c.tie_word_embeddings = optional<bool>(j, "tie_word_embeddings", false, origin);
  c.torch_dtype = optional<std::string>(j, "torch_dtype", optional<std::string>(j, "dtype", std::string("float32"), origin), origin);
  parse_rope(j, c, origin);
  bool is_qwen = arch == "Qwen2ForCausalLM" || arch == "Qwen3ForCausalLM";
  std::vector<int32_t> bos = token_ids(j, "bos_token_id", {is_qwen ? -1 : 1}, origin);
  c.bos_token_id = bos.empty() ? -1 : bos[0];
  c.eos_token_ids = token_ids(j, "eos_token_id", {is_qwen ? -1 : 2}, origin);
  c.eos_token_id = c.eos_token_ids.empty() ? -1 : c.eos_token_ids[0];
  bool attention_bias = optional<bool>(j, "attention_bias", false, origin);
  c.attention_bias = arch == "Qwen2ForCausalLM" ? true : attention_bias;
  c.attention_output_bias = arch == "Qwen2ForCausalLM" ? false : attention_bias;
  c.mlp_bias = optional<bool>(j, "mlp_bias", false, origin);
  c.qk_norm = arch == "Qwen3ForCausalLM";
  bool sliding = arch == "MistralForCausalLM" || optional<bool>(j, "use_sliding_window", false, origin);
  c.sliding_window = sliding ? optional<int64_t>(j, "sliding_window", 0, origin) : 0;
  validate_config(c, origin);
  return c;
}

nlohmann::json parse_hf_config_json(std::string_view text, const std::string& origin) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  LMSHRINK_CHECK(!j.is_discarded(), origin, ": not valid JSON");
  return j;
}

nlohmann::json read_hf_config_json(const std::string& path) {
  return parse_hf_config_json(read_file_bytes(path, "config.json"), path);
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
