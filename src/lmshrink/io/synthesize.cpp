// Seeded random-weight checkpoints (see synthesize.h).
#include "lmshrink/io/synthesize.h"

#include <cmath>
#include <filesystem>

#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/hf_config.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/shard_writer.h"
#include "lmshrink/model/projections.h"
#include "lmshrink/model/synthetic.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace lmshrink {

namespace {

ModelConfig llama_shape(int64_t hidden, int64_t layers, int64_t heads, int64_t kv_heads, int64_t mlp, int64_t vocab) {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.hidden_size = hidden;
  c.num_layers = layers;
  c.num_heads = heads;
  c.num_kv_heads = kv_heads;
  c.head_dim = hidden / heads;
  c.intermediate_size = mlp;
  c.vocab_size = vocab;
  c.max_position_embeddings = 8192;
  c.rope_theta = 500000.0;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  c.eos_token_ids = {2};
  return c;
}

}  // namespace

std::vector<std::string> synthetic_shape_names() {
  return {"llama-3.2-1b", "llama-3.1-8b", "qwen3-8b", "qwen2-7b", "mistral-7b"};
}

ModelConfig synthetic_shape(const std::string& name) {
  if (name == "llama-3.2-1b") return llama32_1b_shapes(128256, 8192);  // model/synthetic.h, the bench's shape
  if (name == "llama-3.1-8b") return llama_shape(4096, 32, 32, 8, 14336, 128256);
  if (name == "qwen3-8b") {
    ModelConfig c = llama_shape(4096, 36, 32, 8, 12288, 151936);
    c.architecture = "Qwen3ForCausalLM";
    c.head_dim = 128;
    c.qk_norm = true;
    c.rope_theta = 1000000.0;
    c.rms_norm_eps = 1e-6;
    return c;
  }
  if (name == "qwen2-7b") {  // q/k/v biases
    ModelConfig c = llama_shape(3584, 28, 28, 4, 18944, 152064);
    c.architecture = "Qwen2ForCausalLM";
    c.attention_bias = true;
    c.rope_theta = 1000000.0;
    c.rms_norm_eps = 1e-6;
    return c;
  }
  if (name == "mistral-7b") {  // v0.3: vocabulary 32768, no sliding window
    ModelConfig c = llama_shape(4096, 32, 32, 8, 14336, 32768);
    c.architecture = "MistralForCausalLM";
    c.rope_theta = 1000000.0;
    c.max_position_embeddings = 32768;
    return c;
  }
  fail("--shape: expected llama-3.2-1b, llama-3.1-8b, qwen3-8b, qwen2-7b, mistral-7b or custom, got '", name, "'");
}

int64_t write_synthetic_checkpoint(ModelConfig c, const std::string& dir, const SynthesizeOptions& options) {
  c.source_format = "synthetic";
  c.torch_dtype = checkpoint_dtype_name(options.dtype);
  validate_config(c, "synthesize");
  at::Generator generator = at::detail::createCPUGenerator(options.seed);
  ShardWriter shards(dir, options.shard_bytes);
  int64_t biases = 0;
  for (const ProjectionInfo& info : projection_table()) biases += projection_has_bias(c, info.name) ? 1 : 0;
  int64_t per_block = static_cast<int64_t>(projection_table().size()) + biases + 2 + (c.qk_norm ? 2 : 0);
  Progress progress("synthesize", 2 + c.num_layers * per_block + (c.tie_word_embeddings ? 0 : 1));
  auto add = [&](const std::string& name, at::Tensor value) {
    shards.add(name, value.to(options.dtype));
    progress.advance();
  };
  auto normal = [&](std::vector<int64_t> shape, double std_dev) {
    return at::normal(0.0, std_dev, shape, generator, torch::kFloat32);
  };
  const double std_dev = 0.02, out_std = 0.02 / std::sqrt(2.0 * static_cast<double>(c.num_layers));
  add("model.embed_tokens.weight", normal({c.vocab_size, c.hidden_size}, std_dev));
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    std::string p = "model.layers." + std::to_string(layer) + ".";
    add(p + "input_layernorm.weight", torch::ones({c.hidden_size}));
    add(p + "post_attention_layernorm.weight", torch::ones({c.hidden_size}));
    for (const ProjectionInfo& info : projection_table()) {
      auto [out, in] = projection_shape(c, info.name);
      bool output = info.name == "o_proj" || info.name == "down_proj";
      add(projection_layer_name(layer, info.name) + ".weight", normal({out, in}, output ? out_std : std_dev));
      if (projection_has_bias(c, info.name)) add(projection_layer_name(layer, info.name) + ".bias", normal({out}, std_dev));
    }
    if (c.qk_norm) {
      add(p + "self_attn.q_norm.weight", torch::ones({c.head_dim}));
      add(p + "self_attn.k_norm.weight", torch::ones({c.head_dim}));
    }
  }
  add("model.norm.weight", torch::ones({c.hidden_size}));
  if (!c.tie_word_embeddings) add("lm_head.weight", normal({c.vocab_size, c.hidden_size}, std_dev));
  int64_t bytes = shards.finish();
  progress.finish();
  write_text_atomic((std::filesystem::path(dir) / "config.json").string(), hf_config_json(c).dump(2) + "\n");
  return bytes;
}

}  // namespace lmshrink
