// Hugging Face model directories: config.json plus model.safetensors, or shards listed in
// model.safetensors.index.json. Tensor names and shapes follow transformers' Llama/Mistral/Qwen2/
// Qwen3 modules; every tensor is checked against the config, and an expected tensor that is
// missing, or one that is not expected, is an error. Weights are held in float32 on CPU.
// A compressed model is the same directory plus config.json's "compression" section
// ({"format_version": 1, "layers": {name: entry}, ...run facts}) and the factor tensors of each
// entry (model/linear_format.h); loading rebuilds each layer in its stored format.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "lmshrink/io/safetensors.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

// All tensors of a checkpoint directory, by name, across shards.
class HfWeights {
 public:
  explicit HfWeights(const std::string& dir);
  bool contains(const std::string& name) const { return shard_of_.count(name) > 0; }
  // Checked shape; kFloat32 converts any floating dtype, another dtype must match the stored one exactly.
  at::Tensor get(const std::string& name, const std::vector<int64_t>& expected_shape,
                 at::ScalarType dtype = at::ScalarType::Float);
  std::vector<std::string> unused() const;  // names never fetched with get()

 private:
  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::map<std::string, const SafetensorsFile*> shard_of_;
  std::set<std::string> used_;
};

std::unique_ptr<Transformer> load_hf_model(const std::string& dir);

constexpr int kCompressionFormatVersion = 1;

// Writes config.json and model.safetensors (float32, HF names) into an existing folder. When some
// layer is not dense, config.json gains the "compression" section: compression_info's fields (the
// method, ratio, ...) plus "format_version" and "layers".
void write_hf_model(const Transformer& model, const std::string& dir,
                    const nlohmann::json& compression_info = nlohmann::json::object());

}  // namespace lmshrink
