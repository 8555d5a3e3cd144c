// Seeded random-weight Llama-family models (see synthetic.h).
#include "lmshrink/model/synthetic.h"

#include <cmath>

namespace lmshrink {

ModelConfig llama32_1b_shapes(int64_t vocab_size, int64_t context) {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.source_format = "synthetic";
  c.hidden_size = 2048;
  c.intermediate_size = 8192;
  c.num_layers = 16;
  c.num_heads = 32;
  c.num_kv_heads = 8;
  c.head_dim = 64;
  c.vocab_size = vocab_size;
  c.max_position_embeddings = context;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 500000.0;
  c.tie_word_embeddings = true;
  return c;
}

std::unique_ptr<Transformer> make_synthetic_model(ModelConfig c, uint64_t seed, const ProjectionFactory& factory) {
  c.source_format = "synthetic";
  validate_config(c, "synthetic config");
  torch::Generator generator = at::detail::createCPUGenerator(seed);
  auto normal = [&](int64_t out, int64_t in, double std_dev) {
    return at::normal(0.0, std_dev, {out, in}, generator, torch::kFloat32);
  };
  const double std_dev = 0.02, out_std = 0.02 / std::sqrt(2.0 * c.num_layers);
  int64_t q_dim = c.num_heads * c.head_dim, kv_dim = c.num_kv_heads * c.head_dim;
  at::Tensor embed = normal(c.vocab_size, c.hidden_size, std_dev);
  std::vector<TransformerBlock> blocks(c.num_layers);
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    TransformerBlock& b = blocks[layer];
    auto projection = [&](const std::string& name, int64_t out, int64_t in, double scale) -> std::unique_ptr<Linear> {
      if (factory) {
        if (std::unique_ptr<Linear> built = factory(layer, name, in, out)) return built;
      }
      return std::make_unique<DenseLinear>(normal(out, in, scale));
    };
    b.attn_norm = torch::ones({c.hidden_size});
    b.mlp_norm = torch::ones({c.hidden_size});
    b.q_proj = projection("q_proj", q_dim, c.hidden_size, std_dev);
    b.k_proj = projection("k_proj", kv_dim, c.hidden_size, std_dev);
    b.v_proj = projection("v_proj", kv_dim, c.hidden_size, std_dev);
    b.o_proj = projection("o_proj", c.hidden_size, q_dim, out_std);
    b.gate_proj = projection("gate_proj", c.intermediate_size, c.hidden_size, std_dev);
    b.up_proj = projection("up_proj", c.intermediate_size, c.hidden_size, std_dev);
    b.down_proj = projection("down_proj", c.hidden_size, c.intermediate_size, out_std);
  }
  std::unique_ptr<Linear> lm_head;
  if (!c.tie_word_embeddings) lm_head = std::make_unique<DenseLinear>(normal(c.vocab_size, c.hidden_size, std_dev));
  return std::make_unique<Transformer>(c, embed, std::move(blocks), torch::ones({c.hidden_size}), std::move(lm_head));
}

}  // namespace lmshrink
