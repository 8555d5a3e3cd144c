// A model as a GGUF file for llama.cpp (see gguf_export.h).
#include "lmshrink/io/gguf_export.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <map>

#include "lmshrink/io/gguf_tokenizer.h"
#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/model/linear_format.h"
#include "lmshrink/model/projections.h"
#include "lmshrink/model/rope.h"
#include "lmshrink/tokenizer/hf_tokenizer.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "lmshrink/util/read_file.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink {

namespace {

using namespace gguf_token;

// llama2.c stores SentencePiece pieces with U+2581 turned into spaces; GGUF's "llama" vocabulary keeps U+2581.
void add_spm_vocabulary(GgufWriter& gguf, const Llama2cTokenizer& tokenizer, const ModelConfig& config) {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (int32_t id = 0; id < static_cast<int32_t>(tokenizer.vocab_size()); ++id) {
    std::string piece = tokenizer.piece(id);
    int32_t type = kNormal;
    if (id == 0) {
      type = kUnknown;
    } else if (id == tokenizer.bos_id() || id == tokenizer.eos_id()) {
      type = kControl;
    } else if (is_byte_piece(piece)) {
      type = kByte;
    } else {
      piece = spaces_to_word_boundaries(piece);
    }
    tokens.push_back(piece);
    scores.push_back(tokenizer.score(id));
    types.push_back(type);
  }
  gguf.add_string("tokenizer.ggml.model", "llama");
  gguf.add_string_array("tokenizer.ggml.tokens", tokens);
  gguf.add_float32_array("tokenizer.ggml.scores", scores);
  gguf.add_int32_array("tokenizer.ggml.token_type", types);
  gguf.add_uint32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(tokenizer.bos_id()));
  gguf.add_uint32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(tokenizer.eos_id()));
  gguf.add_uint32("tokenizer.ggml.unknown_token_id", 0);
  gguf.add_bool("tokenizer.ggml.add_bos_token", config.bos_token_id >= 0);
  gguf.add_bool("tokenizer.ggml.add_eos_token", false);
}

// A tokenizer.json's BPE vocabulary by id up to the model's vocabulary size, as llama.cpp's converter lays it out:
// model tokens normal (with byte fallback: <0xXX> byte and the unk_token unknown), added tokens control (special) or
// user-defined, ids without a token "[PAD<id>]" unused; and the merges as "a b".
struct JsonVocabulary {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<std::string> merges;
};

JsonVocabulary read_json_vocabulary(const nlohmann::json& root, const ModelConfig& config, const std::string& file) {
  const nlohmann::json& bpe = root.at("model");
  const bool byte_fallback = bpe.value("byte_fallback", false);
  const std::string unk = bpe.contains("unk_token") && bpe["unk_token"].is_string() ? bpe["unk_token"].get<std::string>() : "";
  JsonVocabulary vocabulary;
  vocabulary.tokens.resize(static_cast<size_t>(config.vocab_size));
  vocabulary.types.assign(vocabulary.tokens.size(), kUnused);
  auto place = [&](int64_t id, const std::string& token, int32_t type) {
    LMSHRINK_CHECK(id >= 0 && id < config.vocab_size, file, ": token id ", id, " outside the model's vocabulary");
    vocabulary.tokens[id] = token;
    if (vocabulary.types[id] != kUnknown) vocabulary.types[id] = type;
  };
  for (auto it = bpe.at("vocab").begin(); it != bpe.at("vocab").end(); ++it) {
    int32_t type = !byte_fallback ? kNormal : is_byte_piece(it.key()) ? kByte : it.key() == unk ? kUnknown : kNormal;
    place(it.value().get<int64_t>(), it.key(), type);
  }
  for (const nlohmann::json& added : root.value("added_tokens", nlohmann::json::array())) {
    place(added.at("id").get<int64_t>(), added.at("content").get<std::string>(),
          added.value("special", false) ? kControl : kUserDefined);
  }
  for (size_t id = 0; id < vocabulary.tokens.size(); ++id) {
    if (vocabulary.types[id] == kUnused) vocabulary.tokens[id] = "[PAD" + std::to_string(id) + "]";
  }
  for (const nlohmann::json& merge : bpe.at("merges")) {
    vocabulary.merges.push_back(merge.is_string() ? merge.get<std::string>()
                                                  : merge.at(0).get<std::string>() + " " + merge.at(1).get<std::string>());
  }
  return vocabulary;
}

void add_special_ids(GgufWriter& gguf, const HfTokenizer& tokenizer) {
  if (tokenizer.bos_id() >= 0) gguf.add_uint32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(tokenizer.bos_id()));
  if (tokenizer.eos_id() >= 0) gguf.add_uint32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(tokenizer.eos_id()));
  gguf.add_bool("tokenizer.ggml.add_bos_token", !tokenizer.bos_side_ids().empty());
  gguf.add_bool("tokenizer.ggml.add_eos_token", !tokenizer.eos_side_ids().empty());
}

// A SentencePiece-style tokenizer.json (BPE with byte fallback: Llama-2, Mistral) as tokenizer.ggml.model "llama".
// SentencePiece merges the adjacent pair whose concatenation has the best score; tokenizer.json ranks merges instead,
// and Hugging Face's converter ordered them by the merged piece's score. So a normal piece's score is minus the rank
// of the first merge that makes it (pieces no merge makes: below every merge); byte, unknown and added tokens score 0.
void add_spm_json_vocabulary(GgufWriter& gguf, const JsonVocabulary& vocabulary, const HfTokenizer& tokenizer,
                             const std::string& tokenizer_file) {
  std::map<std::string, float> merged_score;  // piece -> minus the rank of the first merge making it
  for (size_t rank = 0; rank < vocabulary.merges.size(); ++rank) {
    std::string piece = vocabulary.merges[rank];
    size_t space = piece.find(' ');
    LMSHRINK_CHECK(space != std::string::npos, tokenizer_file, ": merge ", rank, " is not a pair");
    merged_score.emplace(piece.erase(space, 1), -static_cast<float>(rank));
  }
  std::vector<float> scores(vocabulary.tokens.size(), 0.0f);
  for (size_t id = 0; id < vocabulary.tokens.size(); ++id) {
    if (vocabulary.types[id] != kNormal) continue;
    auto found = merged_score.find(vocabulary.tokens[id]);
    scores[id] = found != merged_score.end() ? found->second : -static_cast<float>(vocabulary.merges.size() + id);
  }
  gguf.add_string("tokenizer.ggml.model", "llama");
  gguf.add_string_array("tokenizer.ggml.tokens", vocabulary.tokens);
  gguf.add_float32_array("tokenizer.ggml.scores", scores);
  gguf.add_int32_array("tokenizer.ggml.token_type", vocabulary.types);
  for (size_t id = 0; id < vocabulary.tokens.size(); ++id) {
    if (vocabulary.types[id] == kUnknown) gguf.add_uint32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(id));
  }
  add_special_ids(gguf, tokenizer);
}

// A tokenizer.json vocabulary: byte-level BPE (Llama-3, Qwen2/3) as tokenizer.ggml.model "gpt2" with its merges and
// the pre-tokenizer by family, as llama.cpp's converter writes it; SentencePiece-style BPE as "llama" (above).
void add_json_vocabulary(GgufWriter& gguf, const HfTokenizer& tokenizer, const std::string& tokenizer_file,
                         const ModelConfig& config, const std::string& arch) {
  nlohmann::json root = nlohmann::json::parse(tokenizer_json_text(tokenizer_file));
  LMSHRINK_CHECK(root.at("model").value("type", "") == "BPE", tokenizer_file, ": GGUF export writes BPE tokenizer.json "
                 "vocabularies (byte-level: Llama-3, Qwen; SentencePiece-style with byte fallback: Llama-2, Mistral); "
                 "this one is not BPE");
  JsonVocabulary vocabulary = read_json_vocabulary(root, config, tokenizer_file);
  if (root.at("model").value("byte_fallback", false)) return add_spm_json_vocabulary(gguf, vocabulary, tokenizer, tokenizer_file);
  gguf.add_string("tokenizer.ggml.model", "gpt2");
  gguf.add_string("tokenizer.ggml.pre", arch == "llama" ? "llama-bpe" : "qwen2");
  gguf.add_string_array("tokenizer.ggml.tokens", vocabulary.tokens);
  gguf.add_int32_array("tokenizer.ggml.token_type", vocabulary.types);
  gguf.add_string_array("tokenizer.ggml.merges", vocabulary.merges);
  add_special_ids(gguf, tokenizer);
}

uint32_t file_type_code(GgufTensorType type) {  // llama_ftype: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7, MOSTLY_BF16 32
  switch (type) {
    case GgufTensorType::kF32: return 0;
    case GgufTensorType::kF16: return 1;
    case GgufTensorType::kQ8_0: return 7;
    case GgufTensorType::kBF16: return 32;
  }
  return 0;
}

void add_model_metadata(GgufWriter& gguf, const ModelConfig& c, const std::string& arch, GgufTensorType type) {
  gguf.add_string("general.architecture", arch);
  gguf.add_string("general.name", c.source_format == "synthetic" ? "lmshrink SYNTHETIC model" : "lmshrink export");
  gguf.add_uint32("general.file_type", file_type_code(type));
  gguf.add_uint32("general.alignment", 32);
  const std::pair<const char*, int64_t> sizes[] = {
      {"context_length", gguf_context_length(c)}, {"embedding_length", c.hidden_size},
      {"block_count", c.num_layers},                 {"feed_forward_length", c.intermediate_size},
      {"attention.head_count", c.num_heads},         {"attention.head_count_kv", c.num_kv_heads},
      {"attention.key_length", c.head_dim},          {"attention.value_length", c.head_dim}};
  for (const auto& [name, value] : sizes) gguf.add_uint32(arch + "." + name, static_cast<uint32_t>(value));
  gguf.add_float32(arch + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  gguf.add_float32(arch + ".rope.freq_base", static_cast<float>(c.rope_theta));
  gguf.add_uint32(arch + ".rope.dimension_count", static_cast<uint32_t>(c.head_dim));
  gguf.add_uint32(arch + ".vocab_size", static_cast<uint32_t>(c.vocab_size));
  if (c.rope_type == "linear") {
    gguf.add_string(arch + ".rope.scaling.type", "linear");
    gguf.add_float32(arch + ".rope.scaling.factor", static_cast<float>(c.rope_factor));
  }
}

// Llama-3's per-frequency RoPE factors as llama.cpp applies them (theta / factor): default ÷ scaled frequencies.
at::Tensor llama3_rope_factors(const ModelConfig& c) {
  ModelConfig plain = c;
  plain.rope_type = "default";
  return (rope_inv_freq(plain) / rope_inv_freq(c)).to(torch::kFloat32);
}

struct TensorPlan {
  GgufWriter& gguf;
  GgufTensorType matrix_type;
  int64_t f16_fallbacks = 0;

  void matrix(const std::string& name, int64_t rows, int64_t cols) {
    GgufTensorType type = matrix_type;
    if (type == GgufTensorType::kQ8_0 && cols % 32 != 0) {
      type = GgufTensorType::kF16;
      ++f16_fallbacks;
    }
    gguf.declare_tensor(name, {rows, cols}, type);
  }
  void vector(const std::string& name, int64_t size) { gguf.declare_tensor(name, {size}, GgufTensorType::kF32); }
};

void declare_tensors(TensorPlan& plan, const Transformer& model) {
  const ModelConfig& c = model.config();
  plan.matrix("token_embd.weight", c.vocab_size, c.hidden_size);
  if (c.rope_type == "llama3") plan.vector("rope_freqs.weight", c.head_dim / 2);
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    const TransformerBlock& block = model.blocks()[layer];
    std::string prefix = "blk." + std::to_string(layer) + ".";
    plan.vector(prefix + "attn_norm.weight", c.hidden_size);
    for (const std::string& projection : all_projections()) {
      const Linear& linear = projection_layer(model, layer, projection);
      std::string name = prefix + projection_info(projection).gguf_name;
      plan.matrix(name + ".weight", linear.out_features(), linear.in_features());
      if (linear.bias().defined()) plan.vector(name + ".bias", linear.out_features());
    }
    if (block.q_norm.defined()) plan.vector(prefix + "attn_q_norm.weight", c.head_dim);
    if (block.k_norm.defined()) plan.vector(prefix + "attn_k_norm.weight", c.head_dim);
    plan.vector(prefix + "ffn_norm.weight", c.hidden_size);
  }
  plan.vector("output_norm.weight", c.hidden_size);
  if (!model.lm_head_tied()) plan.matrix("output.weight", c.vocab_size, c.hidden_size);
}

// Writes one block's tensors in the declared order, densifying compressed projections; returns how many were.
int64_t write_block(GgufWriter& gguf, TransformerBlock& block, const ModelConfig& c, int64_t layer, bool interleave) {
  std::string prefix = "blk." + std::to_string(layer) + ".";
  int64_t densified_count = 0;
  gguf.write_tensor(prefix + "attn_norm.weight", block.attn_norm);
  for (const std::string& projection : all_projections()) {
    std::unique_ptr<Linear>& slot = projection_slot(block, projection);
    if (slot->format() != "dense") {
      slot = densified(*slot);
      ++densified_count;
    }
    at::Tensor weight = slot->dense(), bias = slot->bias();
    int64_t heads = projection == "q_proj" ? c.num_heads : projection == "k_proj" ? c.num_kv_heads : 0;
    if (interleave && heads > 0) {
      weight = rotate_half_to_interleaved(weight, heads, c.head_dim);
      if (bias.defined()) bias = rotate_half_to_interleaved(bias, heads, c.head_dim);
    }
    std::string name = prefix + projection_info(projection).gguf_name;
    gguf.write_tensor(name + ".weight", weight);
    if (bias.defined()) gguf.write_tensor(name + ".bias", bias);
  }
  if (block.q_norm.defined()) gguf.write_tensor(prefix + "attn_q_norm.weight", block.q_norm);
  if (block.k_norm.defined()) gguf.write_tensor(prefix + "attn_k_norm.weight", block.k_norm);
  gguf.write_tensor(prefix + "ffn_norm.weight", block.mlp_norm);
  return densified_count;
}

}  // namespace

int64_t gguf_context_length(const ModelConfig& config) {
  bool window_shorter = config.sliding_window > 0 && config.sliding_window < config.max_position_embeddings;
  return window_shorter ? config.sliding_window : config.max_position_embeddings;
}

std::string gguf_architecture(const ModelConfig& config) {
  const std::string& arch = config.architecture;
  if (arch.empty() || arch == "LlamaForCausalLM" || arch == "MistralForCausalLM") return "llama";
  if (arch == "Qwen2ForCausalLM") return "qwen2";
  if (arch == "Qwen3ForCausalLM") return "qwen3";
  fail("GGUF export: architecture ", arch, " is not supported (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, "
       "Qwen3ForCausalLM)");
}

at::Tensor rotate_half_to_interleaved(const at::Tensor& w_out_in, int64_t heads, int64_t head_dim) {
  std::vector<int64_t> rest(w_out_in.sizes().begin() + 1, w_out_in.sizes().end());
  std::vector<int64_t> split = {heads, 2, head_dim / 2};
  split.insert(split.end(), rest.begin(), rest.end());
  return w_out_in.reshape(split).transpose(1, 2).reshape(w_out_in.sizes()).contiguous();
}

GgufExportResult write_gguf_model(Transformer& model, const Tokenizer& tokenizer, const std::string& tokenizer_file,
                                  const std::string& path, GgufTensorType type) {
  const ModelConfig& c = model.config();
  GgufExportResult result;
  result.architecture = gguf_architecture(c);
  result.context_length = gguf_context_length(c);
  const auto* spm = dynamic_cast<const Llama2cTokenizer*>(&tokenizer);
  const auto* bpe = dynamic_cast<const HfTokenizer*>(&tokenizer);
  LMSHRINK_CHECK(spm != nullptr || bpe != nullptr, "GGUF export: unknown tokenizer type");
  LMSHRINK_CHECK(model.lm_head().format() == "dense", "GGUF export: a compressed lm_head cannot be exported yet");
  GgufWriter gguf;
  add_model_metadata(gguf, c, result.architecture, type);
  if (spm != nullptr) {
    add_spm_vocabulary(gguf, *spm, c);
  } else {
    add_json_vocabulary(gguf, *bpe, tokenizer_file, c, result.architecture);
  }
  TensorPlan plan{gguf, type};
  declare_tensors(plan, model);
  result.f16_fallback_tensors = plan.f16_fallbacks;
  gguf.begin(path);
  gguf.write_tensor("token_embd.weight", model.embed_tokens());
  if (c.rope_type == "llama3") gguf.write_tensor("rope_freqs.weight", llama3_rope_factors(c));
  const bool interleave = result.architecture == "llama";
  Progress progress("gguf export", c.num_layers);
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {  // one block in memory at a time
    TransformerBlock& block = model.mutable_blocks()[layer];
    result.densified_layers += write_block(gguf, block, c, layer, interleave);
    release_block(block);
    release_mapped_pages();
    progress.advance();
  }
  gguf.write_tensor("output_norm.weight", model.final_norm());
  if (!model.lm_head_tied()) gguf.write_tensor("output.weight", model.lm_head().dense());
  result.bytes = gguf.commit();
  return result;
}

}  // namespace lmshrink
