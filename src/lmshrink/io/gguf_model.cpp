// GGUF checkpoints as lmshrink models (see gguf_model.h).
#include "lmshrink/io/gguf_model.h"

#include <torch/torch.h>

#include <cmath>
#include <tuple>

#include "lmshrink/io/finite_weights.h"
#include "lmshrink/io/gguf_file.h"
#include "lmshrink/model/projections.h"
#include "lmshrink/model/rope.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

const std::pair<const char*, const char*> kArchitectures[] = {
    {"llama", "LlamaForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"}, {"qwen3", "Qwen3ForCausalLM"}};

const GgufTensorInfo* find_tensor(const GgufHeader& header, const std::string& name) {
  for (const GgufTensorInfo& info : header.tensors) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::string torch_dtype_name(GgmlType type) {
  return type == GgmlType::kF16 ? "float16" : type == GgmlType::kBF16 ? "bfloat16" : "float32";
}

void read_rope_scaling(ModelConfig& c, const GgufHeader& header, const std::string& arch, const std::string& origin) {
  std::string key = arch + ".rope.scaling.type";
  std::string type = gguf_has(header, key) ? gguf_string(header, key, origin) : "none";
  if (type == "linear") {
    c.rope_type = "linear";
    c.rope_factor = gguf_float(header, arch + ".rope.scaling.factor", origin);
    LMSHRINK_CHECK(c.rope_factor > 0, origin, ": ", arch, ".rope.scaling.factor must be positive");
  } else {
    LMSHRINK_CHECK(type == "none", origin, ": ", key, " \"", gguf_printable(type), "\" is not supported (none, linear; Llama-3 scaling "
                   "comes as rope_freqs)");
  }
}

// Bos/eos ids from the tokenizer metadata; the model has a BOS when the tokenizer adds one.
void read_special_tokens(ModelConfig& c, const GgufHeader& header, const std::string& origin) {
  auto id = [&](const std::string& key) {
    return gguf_has(header, key) ? static_cast<int32_t>(gguf_integer(header, key, origin)) : -1;
  };
  bool spm = gguf_has(header, "tokenizer.ggml.model") && gguf_string(header, "tokenizer.ggml.model", origin) == "llama";
  std::string add_bos_key = "tokenizer.ggml.add_bos_token";
  bool add_bos = gguf_has(header, add_bos_key) ? gguf_bool(header, add_bos_key, origin) : spm;
  c.bos_token_id = add_bos ? id("tokenizer.ggml.bos_token_id") : -1;
  c.eos_token_id = id("tokenizer.ggml.eos_token_id");
  c.eos_token_ids = c.eos_token_id >= 0 ? std::vector<int32_t>{c.eos_token_id} : std::vector<int32_t>{};
}

// Rows of a q/k weight [heads * head_dim, in] or bias [heads * head_dim] from llama.cpp's interleaved RoPE pairs back
// to rotate-half order (the inverse of gguf_export.h rotate_half_to_interleaved), in the stored dtype.
at::Tensor interleaved_rows_to_rotate_half(const at::Tensor& rows, int64_t heads, int64_t head_dim) {
  std::vector<int64_t> split = {heads, head_dim / 2, 2};
  split.insert(split.end(), rows.sizes().begin() + 1, rows.sizes().end());
  return rows.reshape(split).transpose(1, 2).reshape(rows.sizes()).contiguous();
}

// Llama-3 RoPE scaling from llama.cpp's rope_freqs (per frequency: default / scaled inverse frequency). The factor is
// the largest; in the smoothed band 1/f = (1 - s)/factor + s with s = a * inv_freq - b, so two band frequencies give
// a and b, and with low_freq_factor 1: high_freq_factor = 1 + 1/b, original context = 2*pi*a/b (rounded). With fewer
// than two band frequencies, Llama-3's own (1, 4) and common contexts are tried. Accepted only when the recomputed
// factors match the file's.
void read_llama3_rope(ModelConfig& c, const at::Tensor& factors, const std::string& origin) {
  at::Tensor file_factors = factors.to(torch::kFloat64);
  c.rope_type = "llama3";
  c.rope_factor = std::round(file_factors.max().item<double>() * 1e4) / 1e4;  // float32 division's rounding off
  ModelConfig plain = c;
  plain.rope_type = "default";
  at::Tensor inv_freq = rope_inv_freq(plain).to(torch::kFloat64);
  std::vector<std::pair<double, double>> band;  // (inv_freq, s)
  for (int64_t i = 0; i < file_factors.numel(); ++i) {
    double f = file_factors[i].item<double>();
    if (f > 1.0 + 1e-4 && f < c.rope_factor * (1.0 - 1e-4)) {
      band.emplace_back(inv_freq[i].item<double>(), (1.0 / f - 1.0 / c.rope_factor) / (1.0 - 1.0 / c.rope_factor));
    }
  }
  std::vector<std::tuple<double, double, int64_t>> candidates;  // (low, high, original context)
  if (band.size() >= 2) {
    double a = (band.front().second - band.back().second) / (band.front().first - band.back().first);
    double b = a * band.front().first - band.front().second;
    if (a > 0 && b > 0) candidates.emplace_back(1.0, std::round((1.0 + 1.0 / b) * 1e4) / 1e4, std::llround(2 * M_PI * a / b));
  }
  for (int64_t context : {8192, 4096, 2048, 16384, 32768, 65536, 131072}) candidates.emplace_back(1.0, 4.0, context);
  for (const auto& [low, high, context] : candidates) {
    c.rope_low_freq_factor = low;
    c.rope_high_freq_factor = high;
    c.rope_original_max_positions = context;
    at::Tensor recomputed = (inv_freq / rope_inv_freq(c).to(torch::kFloat64));
    if (high > low && context > 0 && torch::allclose(recomputed, file_factors, 1e-5, 0)) return;
  }
  fail(origin, ": rope_freqs.weight is not a Llama-3 RoPE scaling lmshrink can represent");
}

// Hands out the file's tensors checked for NaN/Inf (unless allowed), their scanned pages released.
struct TensorSource {
  GgufFile& file;
  bool check_finite = true;
  at::Tensor get(const std::string& name, const std::vector<int64_t>& shape) {
    at::Tensor t = file.tensor(name, shape);
    if (check_finite) check_finite_weight(t, file.path(), name);
    return t;
  }
  at::Tensor get_float(const std::string& name, const std::vector<int64_t>& shape) {
    return get(name, shape).to(torch::kFloat32);
  }
};

TransformerBlock load_block(TensorSource& source, const ModelConfig& c, int64_t layer, bool interleaved) {
  std::string prefix = "blk." + std::to_string(layer) + ".";
  TransformerBlock b;
  b.attn_norm = source.get_float(prefix + "attn_norm.weight", {c.hidden_size});
  b.mlp_norm = source.get_float(prefix + "ffn_norm.weight", {c.hidden_size});
  for (const ProjectionInfo& info : projection_table()) {
    auto [out, in] = projection_shape(c, info.name);
    std::string name = prefix + info.gguf_name;
    at::Tensor weight = source.get(name + ".weight", {out, in}), bias;
    if (projection_has_bias(c, info.name)) bias = source.get_float(name + ".bias", {out});
    int64_t heads = info.name == "q_proj" ? c.num_heads : info.name == "k_proj" ? c.num_kv_heads : 0;
    if (interleaved && heads > 0) {
      weight = interleaved_rows_to_rotate_half(weight, heads, c.head_dim);
      if (bias.defined()) bias = interleaved_rows_to_rotate_half(bias, heads, c.head_dim);
    }
    b.*info.member = std::make_unique<DenseLinear>(weight, bias);
  }
  if (c.qk_norm) {
    b.q_norm = source.get_float(prefix + "attn_q_norm.weight", {c.head_dim});
    b.k_norm = source.get_float(prefix + "attn_k_norm.weight", {c.head_dim});
  }
  return b;
}

}  // namespace

ModelConfig gguf_model_config(const GgufHeader& header, const std::string& origin) {
  std::string arch = gguf_string(header, "general.architecture", origin);
  ModelConfig c;
  c.architecture.clear();
  for (const auto& [gguf_name, hf_name] : kArchitectures) {
    if (arch == gguf_name) c.architecture = hf_name;
  }
  LMSHRINK_CHECK(!c.architecture.empty(), origin, ": GGUF architecture \"", gguf_printable(arch), "\" is not supported (llama, qwen2, qwen3)");
  c.source_format = "gguf";
  auto size = [&](const std::string& key) { return gguf_integer(header, arch + "." + key, origin); };
  c.hidden_size = size("embedding_length");
  c.num_layers = size("block_count");
  c.intermediate_size = size("feed_forward_length");
  c.num_heads = size("attention.head_count");
  c.num_kv_heads = gguf_has(header, arch + ".attention.head_count_kv") ? size("attention.head_count_kv") : c.num_heads;
  c.head_dim = gguf_has(header, arch + ".attention.key_length") ? size("attention.key_length")
                                                                 : (c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
  for (const char* key : {"attention.value_length", "rope.dimension_count"}) {
    LMSHRINK_CHECK(!gguf_has(header, arch + "." + key) || size(key) == c.head_dim, origin, ": ", arch, ".", key, " (",
                   size(key), ") differs from the head size ", c.head_dim, ", which lmshrink does not support");
  }
  c.max_position_embeddings = size("context_length");
  c.rms_norm_eps = gguf_float(header, arch + ".attention.layer_norm_rms_epsilon", origin);
  std::string theta_key = arch + ".rope.freq_base";
  c.rope_theta = gguf_has(header, theta_key) ? gguf_float(header, theta_key, origin) : 10000.0;
  read_rope_scaling(c, header, arch, origin);
  const GgufTensorInfo* embed = find_tensor(header, "token_embd.weight");
  LMSHRINK_CHECK(embed != nullptr && embed->shape.size() == 2, origin, ": missing tensor token_embd.weight");
  c.vocab_size = embed->shape[0];
  c.torch_dtype = torch_dtype_name(embed->type);
  c.tie_word_embeddings = find_tensor(header, "output.weight") == nullptr;
  c.attention_bias = find_tensor(header, "blk.0.attn_q.bias") != nullptr;
  c.attention_output_bias = find_tensor(header, "blk.0.attn_output.bias") != nullptr;
  c.mlp_bias = find_tensor(header, "blk.0.ffn_gate.bias") != nullptr;
  c.qk_norm = arch == "qwen3";
  read_special_tokens(c, header, origin);
  validate_config(c, origin);
  return c;
}

std::unique_ptr<Transformer> load_gguf_model(const std::string& path, bool allow_nonfinite) {
  GgufFile file(path);
  ModelConfig c = gguf_model_config(file.header(), path);
  TensorSource source{file, !allow_nonfinite};
  if (file.contains("rope_freqs.weight")) read_llama3_rope(c, source.get_float("rope_freqs.weight", {c.head_dim / 2}), path);
  at::Tensor embed = source.get("token_embd.weight", {c.vocab_size, c.hidden_size});
  const bool interleaved = c.architecture == "LlamaForCausalLM";
  std::vector<TransformerBlock> blocks;
  for (int64_t layer = 0; layer < c.num_layers; ++layer) blocks.push_back(load_block(source, c, layer, interleaved));
  at::Tensor final_norm = source.get_float("output_norm.weight", {c.hidden_size});
  std::unique_ptr<Linear> lm_head;
  if (!c.tie_word_embeddings) lm_head = std::make_unique<DenseLinear>(source.get("output.weight", {c.vocab_size, c.hidden_size}));
  for (const std::string& name : file.unused()) {
    fail(path, ": unexpected tensor ", name, " for GGUF architecture ", file.header().metadata.at("general.architecture").text,
         " with this metadata");
  }
  return std::make_unique<Transformer>(c, embed, std::move(blocks), final_norm, std::move(lm_head));
}

}  // namespace lmshrink
