// HF checkpoint directory reading and writing (see hf_model.h).
#include "lmshrink/io/hf_model.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/finite_weights.h"
#include "lmshrink/io/hf_config.h"
#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/io/mapped_tensor.h"
#include "lmshrink/model/projections.h"
#include "lmshrink/model/linear_format.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/kill_point.h"
#include "lmshrink/util/read_file.h"

namespace lmshrink {

namespace fs = std::filesystem;

namespace {

std::string layer_prefix(int64_t layer) { return "model.layers." + std::to_string(layer) + "."; }

}  // namespace

HfWeights::HfWeights(const std::string& dir, bool check_finite) : dir_(dir), check_finite_(check_finite) {
  fs::path index = fs::path(dir) / "model.safetensors.index.json";
  fs::path single = fs::path(dir) / "model.safetensors";
  if (fs::exists(index)) {
    std::map<std::string, const SafetensorsFile*> opened;
    for (const auto& [name, shard] : parse_safetensors_index(read_file_bytes(index.string(), "shard index"), index.string())) {
      if (!opened.count(shard)) {
        fs::path shard_path = fs::path(dir) / shard;
        LMSHRINK_CHECK(fs::exists(shard_path), index.string(), ": shard ", shard, " (listed for ", name, ") is missing");
        shards_.push_back(std::make_unique<SafetensorsFile>(shard_path.string()));
        opened[shard] = shards_.back().get();
      }
      LMSHRINK_CHECK(opened[shard]->contains(name), index.string(), ": tensor ", name, " is listed in shard ", shard,
                     " but that file does not contain it");
      shard_of_[name] = opened[shard];
    }
  } else {
    LMSHRINK_CHECK(fs::exists(single), dir, ": no model.safetensors or model.safetensors.index.json");
    shards_.push_back(std::make_unique<SafetensorsFile>(single.string()));
    for (const auto& [name, info] : shards_.back()->tensors()) shard_of_[name] = shards_.back().get();
  }
}

at::Tensor HfWeights::get(const std::string& name, const std::vector<int64_t>& expected_shape, at::ScalarType dtype) {
  auto it = shard_of_.find(name);
  LMSHRINK_CHECK(it != shard_of_.end(), dir_, ": missing tensor ", name, " (expected shape ", shape_text(expected_shape), ")");
  at::Tensor t = it->second->tensor(name);
  LMSHRINK_CHECK(t.sizes().vec() == expected_shape, it->second->path(), ": ", name, ": expected shape ",
                 shape_text(expected_shape), ", got ", shape_text(t.sizes()));
  used_.insert(name);
  if (check_finite_ && at::isFloatingType(t.scalar_type())) check_finite_weight(t, it->second->path(), name);
  if (dtype == kStoredFloat) {
    LMSHRINK_CHECK(at::isFloatingType(t.scalar_type()), it->second->path(), ": ", name, ": expected a floating dtype (F32, F16, "
                   "BF16 or F64), got ", c10::toString(t.scalar_type()));
    return t;
  }
  if (dtype != torch::kFloat32 || !at::isFloatingType(t.scalar_type())) {
    LMSHRINK_CHECK(t.scalar_type() == dtype, it->second->path(), ": ", name, ": expected dtype ", c10::toString(dtype),
                   ", got ", c10::toString(t.scalar_type()));
    return t;
  }
  return t.scalar_type() == torch::kFloat32 ? t : t.to(torch::kFloat32);
}

std::vector<std::string> HfWeights::unused() const {
  std::vector<std::string> names;
  for (const auto& [name, shard] : shard_of_) {
    if (!used_.count(name)) names.push_back(name);
  }
  return names;
}

namespace {

// config.json's "compression" section (linear_format.h), or an empty object for a plain checkpoint.
nlohmann::json compression_layers(const nlohmann::json& config, const std::string& path) {
  if (!config.contains("compression")) return nlohmann::json::object();
  const nlohmann::json& section = config["compression"];
  LMSHRINK_CHECK(section.is_object() && section.value("format_version", nlohmann::json()) == kCompressionFormatVersion &&
                     section.contains("layers") && section["layers"].is_object(),
                 path, ": \"compression\" must be an object with \"format_version\": ", kCompressionFormatVersion,
                 " and a \"layers\" object");
  return section["layers"];
}

// Reads linears through their compression entries, remembering which entries were used.
class LinearReader {
 public:
  LinearReader(HfWeights& weights, nlohmann::json layers) : weights_(weights), layers_(std::move(layers)) {}
  std::unique_ptr<Linear> read(const std::string& name, int64_t out, int64_t in, bool bias) {
    nlohmann::json entry = layers_.contains(name) ? layers_[name] : nlohmann::json();
    if (!entry.is_null()) used_.insert(name);
    return restore_linear(name, entry, out, in, bias,
                          [this](const std::string& t, const std::vector<int64_t>& shape, at::ScalarType dtype) {
                            return weights_.get(t, shape, dtype);
                          });
  }
  void check_all_used(const std::string& dir) const {
    for (const auto& [name, entry] : layers_.items()) {
      LMSHRINK_CHECK(used_.count(name), dir, "/config.json: compression entry ", name, " names no linear layer of this model");
    }
  }

 private:
  HfWeights& weights_;
  nlohmann::json layers_;
  std::set<std::string> used_;
};

TransformerBlock load_block(HfWeights& w, LinearReader& r, const ModelConfig& c, int64_t layer) {
  std::string p = layer_prefix(layer);
  TransformerBlock b;
  b.attn_norm = w.get(p + "input_layernorm.weight", {c.hidden_size});
  b.mlp_norm = w.get(p + "post_attention_layernorm.weight", {c.hidden_size});
  for (const ProjectionInfo& info : projection_table()) {
    auto [out, in] = projection_shape(c, info.name);
    b.*info.member = r.read(projection_layer_name(layer, info.name), out, in, projection_has_bias(c, info.name));
  }
  if (c.qk_norm) {
    b.q_norm = w.get(p + "self_attn.q_norm.weight", {c.head_dim});
    b.k_norm = w.get(p + "self_attn.k_norm.weight", {c.head_dim});
  }
  return b;
}

}  // namespace

std::unique_ptr<Transformer> load_hf_model(const std::string& dir, bool allow_nonfinite) {
  std::string config_path = (fs::path(dir) / "config.json").string();
  nlohmann::json config_json = read_hf_config_json(config_path);
  ModelConfig c = parse_hf_config(config_json, config_path);
  HfWeights w(dir, !allow_nonfinite);
  LinearReader reader(w, compression_layers(config_json, config_path));
  at::Tensor embed = w.get("model.embed_tokens.weight", {c.vocab_size, c.hidden_size}, kStoredFloat);
  std::vector<TransformerBlock> blocks;
  for (int64_t layer = 0; layer < c.num_layers; ++layer) blocks.push_back(load_block(w, reader, c, layer));
  at::Tensor final_norm = w.get("model.norm.weight", {c.hidden_size});
  std::unique_ptr<Linear> lm_head;
  if (!c.tie_word_embeddings) {
    lm_head = reader.read("lm_head", c.vocab_size, c.hidden_size, false);
  }
  reader.check_all_used(dir);
  for (const std::string& name : w.unused()) {
    bool harmless = name.find("rotary_emb.inv_freq") != std::string::npos ||
                    (c.tie_word_embeddings && name == "lm_head.weight");
    LMSHRINK_CHECK(harmless, dir, ": unexpected tensor ", name, " for ", c.architecture, " with this config");
  }
  return std::make_unique<Transformer>(c, embed, std::move(blocks), final_norm, std::move(lm_head));
}

at::ScalarType parse_checkpoint_dtype(const std::string& text, const std::string& what) {
  if (text == "bf16" || text == "bfloat16") return torch::kBFloat16;
  if (text == "f16" || text == "float16" || text == "fp16") return torch::kFloat16;
  if (text == "f32" || text == "float32" || text == "fp32") return torch::kFloat32;
  fail(what, ": expected bf16, f16 or f32, got '", text, "'");
}

at::ScalarType written_dtype(const Transformer& model, const CheckpointFormat& format) {
  if (format.dtype != kStoredFloat) return format.dtype;
  at::ScalarType stored = model.embed_tokens().scalar_type();
  return stored == torch::kBFloat16 || stored == torch::kFloat16 ? stored : torch::kFloat32;
}

std::string checkpoint_dtype_name(at::ScalarType type) {
  return type == torch::kBFloat16 ? "bfloat16" : type == torch::kFloat16 ? "float16" : "float32";
}

HfModelWriter::HfModelWriter(const Transformer& model, const std::string& dir, const CheckpointFormat& format)
    : model_(model), dir_(dir), dtype_(written_dtype(model, format)), shards_(dir, format.shard_bytes) {
  add("model.embed_tokens.weight", model.embed_tokens());
}

// Float32 tensors (what store_linear gives, and the norms) and the embeddings go out in dtype_; other dtypes as they are.
int64_t HfModelWriter::add(const std::string& name, const at::Tensor& tensor) {
  bool convert = tensor.scalar_type() == torch::kFloat32 || name == "model.embed_tokens.weight";
  at::Tensor written = convert ? tensor.to(dtype_) : tensor;
  shards_.add(name, written);
  return written.numel() * static_cast<int64_t>(written.element_size());
}

void HfModelWriter::add_linear(const std::string& name, const Linear& linear) {
  StoredLinear stored = store_linear(name, linear);
  int64_t bytes = 0;
  for (const auto& [tensor_name, tensor] : stored.tensors) bytes += add(tensor_name, tensor);
  linear_bytes_[name] = bytes;
  if (!stored.entry.is_null()) layers_[name] = stored.entry;
}

std::vector<int64_t> HfModelWriter::block_linear_bytes(int64_t layer) const {
  std::vector<int64_t> bytes;
  for (const ProjectionInfo& info : projection_table()) bytes.push_back(linear_bytes_.at(projection_layer_name(layer, info.name)));
  return bytes;
}

void HfModelWriter::write_block(int64_t layer) {
  LMSHRINK_CHECK(layer == next_layer_, "model writer: block ", layer, " written out of order (next is ", next_layer_, ")");
  const TransformerBlock& b = model_.blocks()[layer];
  std::string p = layer_prefix(layer);
  add(p + "input_layernorm.weight", b.attn_norm.to(torch::kFloat32));
  add(p + "post_attention_layernorm.weight", b.mlp_norm.to(torch::kFloat32));
  for (const ProjectionInfo& info : projection_table()) {
    add_linear(projection_layer_name(layer, info.name), *(b.*info.member));
    if (info.name == "o_proj" && model_.config().qk_norm) {  // the norms sit after the attention projections in the file
      add(p + "self_attn.q_norm.weight", b.q_norm.to(torch::kFloat32));
      add(p + "self_attn.k_norm.weight", b.k_norm.to(torch::kFloat32));
    }
  }
  ++next_layer_;
  kill_point("block-written");
}

int64_t HfModelWriter::finish(const nlohmann::json& compression_info) {
  const ModelConfig& c = model_.config();
  LMSHRINK_CHECK(next_layer_ == c.num_layers, "model writer: ", next_layer_, " of ", c.num_layers, " blocks written");
  add("model.norm.weight", model_.final_norm().to(torch::kFloat32));
  if (!model_.lm_head_tied()) add_linear("lm_head", model_.lm_head());
  int64_t bytes = shards_.finish();
  ModelConfig written = c;
  written.torch_dtype = checkpoint_dtype_name(dtype_);
  nlohmann::json config = hf_config_json(written);
  if (!layers_.empty()) {
    nlohmann::json section = compression_info.is_object() ? compression_info : nlohmann::json::object();
    section["format_version"] = kCompressionFormatVersion;
    section["layers"] = layers_;
    config["compression"] = section;
  }
  write_text_atomic((fs::path(dir_) / "config.json").string(), config.dump(2) + "\n");
  return bytes;
}

int64_t write_hf_model(const Transformer& model, const std::string& dir, const nlohmann::json& compression_info,
                       const CheckpointFormat& format) {
  HfModelWriter writer(model, dir, format);
  for (int64_t layer = 0; layer < model.config().num_layers; ++layer) {
    writer.write_block(layer);
    release_mapped_pages();  // a mapped block read for writing leaves memory (prune, heal, convert: one block resident)
  }
  return writer.finish(compression_info);
}

}  // namespace lmshrink
