// Hugging Face model directories: config.json plus model.safetensors, or shards listed in
// model.safetensors.index.json. Tensor names and shapes follow transformers' Llama/Mistral/Qwen2/
// Qwen3 modules; every tensor is checked against the config, and an expected tensor that is
// missing, or one that is not expected, is an error. Weights, factors and embeddings stay memory-mapped in their file
// dtype (bf16, f16 or f32) and are computed in float32 (model/linear.h compute_tensor); norms are read as float32.
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
#include "lmshrink/io/shard_writer.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

// All tensors of a checkpoint directory, by name, across shards.
class HfWeights {
 public:
  // check_finite: every floating tensor get() hands out is checked for NaN/Inf first (finite_weights.h).
  explicit HfWeights(const std::string& dir, bool check_finite = true);
  bool contains(const std::string& name) const { return shard_of_.count(name) > 0; }
  // Checked shape; kFloat32 converts any floating dtype, kStoredFloat (linear_format.h) keeps any floating dtype
  // zero-copy, another dtype must match the stored one exactly.
  at::Tensor get(const std::string& name, const std::vector<int64_t>& expected_shape,
                 at::ScalarType dtype = at::ScalarType::Float);
  std::vector<std::string> unused() const;  // names never fetched with get()

 private:
  std::string dir_;
  bool check_finite_ = true;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::map<std::string, const SafetensorsFile*> shard_of_;
  std::set<std::string> used_;
};

// allow_nonfinite: load weights holding NaN or Inf (for `inspect --allow-nonfinite`); otherwise they are an error.
std::unique_ptr<Transformer> load_hf_model(const std::string& dir, bool allow_nonfinite = false);

constexpr int kCompressionFormatVersion = 1;

// How a checkpoint is written: float tensors (weights, factors, dictionaries, coefficients, norms, embeddings) in
// `dtype`, kStoredFloat meaning the model's own (its embedding table's: a bf16 checkpoint stays bf16, llama2.c stays
// float32); indices, packed codes and fp16 quantization scales keep their dtypes. Shards of at most shard_bytes.
struct CheckpointFormat {
  at::ScalarType dtype = at::ScalarType::Undefined;  // kStoredFloat
  int64_t shard_bytes = kDefaultShardBytes;
};

// "bf16" | "f16" | "f32" (also "bfloat16", "float16", "float32"); throws naming `what` otherwise.
at::ScalarType parse_checkpoint_dtype(const std::string& text, const std::string& what);
// "bfloat16", "float16" or "float32": config.json's torch_dtype of a written dtype.
std::string checkpoint_dtype_name(at::ScalarType type);
// The float dtype a model is written in under `format`.
at::ScalarType written_dtype(const Transformer& model, const CheckpointFormat& format);

// Writes a model into an existing folder block by block, so a caller that streams (compress) can drop each block once
// written: the constructor writes the embeddings, write_block(l) block l's norms and linears, finish() the final norm,
// lm_head, the shard index and config.json. When some layer is not dense, config.json gains the "compression"
// section: compression_info's fields (the method, ratio, ...) plus "format_version" and "layers".
class HfModelWriter {
 public:
  HfModelWriter(const Transformer& model, const std::string& dir, const CheckpointFormat& format = {});
  void write_block(int64_t layer);
  int64_t finish(const nlohmann::json& compression_info = nlohmann::json::object());  // returns the bytes on disk
  at::ScalarType dtype() const { return dtype_; }
  // Bytes written for each projection of a written block, in projection-table order (for release_block).
  std::vector<int64_t> block_linear_bytes(int64_t layer) const;

 private:
  int64_t add(const std::string& name, const at::Tensor& tensor);  // returns the bytes written
  void add_linear(const std::string& name, const Linear& linear);

  const Transformer& model_;
  std::string dir_;
  at::ScalarType dtype_;
  ShardWriter shards_;
  nlohmann::json layers_ = nlohmann::json::object();
  std::map<std::string, int64_t> linear_bytes_;  // bytes written per linear
  int64_t next_layer_ = 0;
};

// HfModelWriter over every block. Returns the bytes of the safetensors files.
int64_t write_hf_model(const Transformer& model, const std::string& dir,
                       const nlohmann::json& compression_info = nlohmann::json::object(), const CheckpointFormat& format = {});

}  // namespace lmshrink
