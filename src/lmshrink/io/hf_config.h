// Hugging Face config.json <-> ModelConfig for the supported decoder families: LlamaForCausalLM,
// MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM. Reads rope_scaling and the newer
// rope_parameters spelling (transformers v5, where rope_theta moves inside it), torch_dtype or dtype,
// bos/eos ids given as an int or a list, explicit head_dim, and each family's bias / q-k-norm rules.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "lmshrink/model/config.h"

namespace lmshrink {

// origin names the file in error messages. Throws lmshrink::Error for an unknown architecture or a
// missing required field.
ModelConfig parse_hf_config(const nlohmann::json& json, const std::string& origin);
ModelConfig read_hf_config(const std::string& path);
// The parsed JSON of a config.json, for readers that need more than the ModelConfig; the text form is the
// buffer entry point (fuzz/fuzz_hf_config.cpp).
nlohmann::json read_hf_config_json(const std::string& path);
nlohmann::json parse_hf_config_json(std::string_view text, const std::string& origin);

// A config.json for config (architecture LlamaForCausalLM unless config.architecture says otherwise).
nlohmann::json hf_config_json(const ModelConfig& config);

}  // namespace lmshrink
