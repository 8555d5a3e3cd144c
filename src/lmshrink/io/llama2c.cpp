// llama2.c legacy v0 checkpoint reader (see llama2c.h; layout from karpathy/llama2.c run.c,
// memory_map_weights).
#include "lmshrink/io/llama2c.h"

#include <filesystem>
#include <fstream>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace fs = std::filesystem;

Llama2cHeader read_llama2c_header(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  LMSHRINK_CHECK(file.good(), path, ": cannot open llama2.c checkpoint");
  int64_t file_bytes = static_cast<int64_t>(fs::file_size(path));
  LMSHRINK_CHECK(file_bytes >= kLlama2cHeaderBytes, path, ": truncated llama2.c checkpoint: ", file_bytes,
                 " bytes, the header alone is ", kLlama2cHeaderBytes);
  int32_t fields[7];
  file.read(reinterpret_cast<char*>(fields), sizeof(fields));
  Llama2cHeader h{fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], true};
  h.shared_classifier = h.vocab_size > 0;
  if (h.vocab_size < 0) h.vocab_size = -h.vocab_size;
  LMSHRINK_CHECK(h.dim > 0 && h.hidden_dim > 0 && h.n_layers > 0 && h.n_heads > 0 && h.n_kv_heads > 0 &&
                     h.vocab_size > 0 && h.seq_len > 0,
                 path, ": not a llama2.c v0 checkpoint: header fields must be positive, got dim=", h.dim,
                 " hidden_dim=", h.hidden_dim, " n_layers=", h.n_layers, " n_heads=", h.n_heads,
                 " n_kv_heads=", h.n_kv_heads, " vocab_size=", h.vocab_size, " seq_len=", h.seq_len);
  LMSHRINK_CHECK(h.dim % h.n_heads == 0 && h.n_heads % h.n_kv_heads == 0 && (h.dim / h.n_heads) % 2 == 0, path,
                 ": inconsistent header: dim ", h.dim, ", n_heads ", h.n_heads, ", n_kv_heads ", h.n_kv_heads);
  int64_t expected = kLlama2cHeaderBytes + 4 * llama2c_payload_floats(h);
  LMSHRINK_CHECK(file_bytes == expected, path, ": file size ", file_bytes, " bytes does not match its header (",
                 "expected ", expected, " bytes for dim=", h.dim, " layers=", h.n_layers, " vocab=", h.vocab_size,
                 file_bytes < expected ? "; truncated?)" : "; trailing data?)");
  return h;
}

int64_t llama2c_payload_floats(const Llama2cHeader& h) {
  int64_t dim = h.dim, hidden = h.hidden_dim, layers = h.n_layers, vocab = h.vocab_size;
  int64_t head_dim = dim / h.n_heads, kv_dim = head_dim * h.n_kv_heads;
  int64_t total = vocab * dim;                            // token_embedding_table
  total += layers * dim;                                  // rms_att_weight
  total += layers * dim * dim + 2 * layers * dim * kv_dim + layers * dim * dim;  // wq, wk, wv, wo
  total += layers * dim;                                  // rms_ffn_weight
  total += 3 * layers * dim * hidden;                     // w1, w2, w3
  total += dim;                                           // rms_final_weight
  total += static_cast<int64_t>(h.seq_len) * head_dim;    // freq_cis_real + freq_cis_imag (unused)
  if (!h.shared_classifier) total += vocab * dim;         // wcls
  return total;
}

at::Tensor interleaved_to_rotate_half(const at::Tensor& w_out_in, int64_t heads, int64_t head_dim) {
  int64_t in = w_out_in.size(1);
  return w_out_in.reshape({heads, head_dim / 2, 2, in}).transpose(1, 2).reshape({heads * head_dim, in}).contiguous();
}

namespace {

// Hands out consecutive slices of the payload in run.c's order.
struct PayloadCursor {
  at::Tensor payload;
  int64_t offset = 0;
  at::Tensor take(std::vector<int64_t> shape) {
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    at::Tensor slice = payload.narrow(0, offset, count).view(shape);
    offset += count;
    return slice;
  }
};

}  // namespace

std::unique_ptr<Transformer> load_llama2c(const std::string& path) {
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

  PayloadCursor cursor{payload};
  at::Tensor embed = cursor.take({c.vocab_size, dim});
  at::Tensor att_norm = cursor.take({layers, dim});
  at::Tensor wq = cursor.take({layers, dim, dim});  // each [out, in], as run.c's matmul reads it
  at::Tensor wk = cursor.take({layers, kv_dim, dim});
  at::Tensor wv = cursor.take({layers, kv_dim, dim});
  at::Tensor wo = cursor.take({layers, dim, dim});
  at::Tensor ffn_norm = cursor.take({layers, dim});
  at::Tensor w1 = cursor.take({layers, hidden, dim});
  at::Tensor w2 = cursor.take({layers, dim, hidden});
  at::Tensor w3 = cursor.take({layers, hidden, dim});
  at::Tensor final_norm = cursor.take({dim});
  cursor.take({static_cast<int64_t>(h.seq_len) * c.head_dim});  // legacy freq_cis tables, unused
  std::unique_ptr<Linear> lm_head;
  if (!h.shared_classifier) lm_head = std::make_unique<DenseLinear>(cursor.take({c.vocab_size, dim}));

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
