// llama2.c legacy v0 checkpoint reader (see llama2c.h; layout from karpathy/llama2.c run.c,
// memory_map_weights).
#include "lmshrink/io/llama2c.h"

#include <fstream>

#include "lmshrink/io/finite_weights.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

at::Tensor interleaved_to_rotate_half(const at::Tensor& w_out_in, int64_t heads, int64_t head_dim) {
  int64_t in = w_out_in.size(1);
  return w_out_in.reshape({heads, head_dim / 2, 2, in}).transpose(1, 2).reshape({heads * head_dim, in}).contiguous();
}

namespace {

// Hands out consecutive slices of the payload in run.c's order, each checked for NaN/Inf unless allowed.
struct PayloadCursor {
  at::Tensor payload;
  const std::string& path;
  bool check_finite = true;
  int64_t offset = 0;
  at::Tensor take(std::vector<int64_t> shape, const char* name) {
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    at::Tensor slice = payload.narrow(0, offset, count).view(shape);
    offset += count;
    if (check_finite) check_finite_weight(slice, path, name);
    return slice;
  }
};

}  // namespace

std::unique_ptr<Transformer> load_llama2c(const std::string& path, bool allow_nonfinite) {
  Llama2cHeader h = read_llama2c_header(path);
  int64_t floats = llama2c_payload_floats(h);
  at::Tensor payload = torch::empty({floats}, torch::kFloat32);
  std::ifstream file(path, std::ios::binary);
  file.seekg(kLlama2cHeaderBytes);
  file.read(reinterpret_cast<char*>(payload.data_ptr<float>()), floats * 4);
  LMSHRINK_CHECK(file.gcount() == floats * 4, path, ": short read of the weights");

  ModelConfig c;
  c.source_format = "llama2c";
  c.hidden_size = h.dim;
  c.intermediate_size = h.hidden_dim;
  c.num_layers = h.n_layers;
  c.num_heads = h.n_heads;
  c.num_kv_heads = h.n_kv_heads;
  c.head_dim = h.dim / h.n_heads;
  c.vocab_size = h.vocab_size;
  c.max_position_embeddings = h.seq_len;
  c.rms_norm_eps = 1e-5;  // run.c rmsnorm
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = h.shared_classifier;
  int64_t dim = h.dim, hidden = h.hidden_dim, layers = h.n_layers, kv_dim = c.head_dim * h.n_kv_heads;

  PayloadCursor cursor{payload, path, !allow_nonfinite};
  at::Tensor embed = cursor.take({c.vocab_size, dim}, "token_embedding_table");
  at::Tensor att_norm = cursor.take({layers, dim}, "rms_att_weight");
  at::Tensor wq = cursor.take({layers, dim, dim}, "wq");  // each [out, in], as run.c's matmul reads it
  at::Tensor wk = cursor.take({layers, kv_dim, dim}, "wk");
  at::Tensor wv = cursor.take({layers, kv_dim, dim}, "wv");
  at::Tensor wo = cursor.take({layers, dim, dim}, "wo");
  at::Tensor ffn_norm = cursor.take({layers, dim}, "rms_ffn_weight");
  at::Tensor w1 = cursor.take({layers, hidden, dim}, "w1");
  at::Tensor w2 = cursor.take({layers, dim, hidden}, "w2");
  at::Tensor w3 = cursor.take({layers, hidden, dim}, "w3");
  at::Tensor final_norm = cursor.take({dim}, "rms_final_weight");
  cursor.check_finite = false;  // the legacy freq_cis tables are never read
  cursor.take({static_cast<int64_t>(h.seq_len) * c.head_dim}, "freq_cis");
  cursor.check_finite = !allow_nonfinite;
  std::unique_ptr<Linear> lm_head;
  if (!h.shared_classifier) lm_head = std::make_unique<DenseLinear>(cursor.take({c.vocab_size, dim}, "wcls"));

  std::vector<TransformerBlock> blocks(layers);
  for (int64_t l = 0; l < layers; ++l) {
    TransformerBlock& b = blocks[l];
    b.attn_norm = att_norm[l];
    b.mlp_norm = ffn_norm[l];
    b.q_proj = std::make_unique<DenseLinear>(interleaved_to_rotate_half(wq[l], c.num_heads, c.head_dim));
    b.k_proj = std::make_unique<DenseLinear>(interleaved_to_rotate_half(wk[l], c.num_kv_heads, c.head_dim));
    b.v_proj = std::make_unique<DenseLinear>(wv[l]);
    b.o_proj = std::make_unique<DenseLinear>(wo[l]);
    b.gate_proj = std::make_unique<DenseLinear>(w1[l]);
    b.down_proj = std::make_unique<DenseLinear>(w2[l]);
    b.up_proj = std::make_unique<DenseLinear>(w3[l]);
  }
  return std::make_unique<Transformer>(c, embed, std::move(blocks), final_norm, std::move(lm_head));
}

}  // namespace lmshrink
