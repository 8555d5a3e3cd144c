// llama2.c v0 checkpoint header (see llama2c_header.h; layout from karpathy/llama2.c run.c, memory_map_weights).
#include "lmshrink/io/llama2c_header.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

// The payload's float count in 128 bits: every factor is below 2^31, so no product of three overflows.
__int128 payload_floats_wide(const Llama2cHeader& h) {
  __int128 dim = h.dim, hidden = h.hidden_dim, layers = h.n_layers, vocab = h.vocab_size;
  __int128 head_dim = dim / h.n_heads, kv_dim = head_dim * h.n_kv_heads;
  __int128 total = vocab * dim;                            // token_embedding_table
  total += layers * dim;                                   // rms_att_weight
  total += layers * dim * dim + 2 * layers * dim * kv_dim + layers * dim * dim;  // wq, wk, wv, wo
  total += layers * dim;                                   // rms_ffn_weight
  total += 3 * layers * dim * hidden;                      // w1, w2, w3
  total += dim;                                            // rms_final_weight
  total += static_cast<__int128>(h.seq_len) * head_dim;    // freq_cis_real + freq_cis_imag (unused)
  if (!h.shared_classifier) total += vocab * dim;          // wcls
  return total;
}

}  // namespace

Llama2cHeader parse_llama2c_header(std::string_view header, int64_t file_bytes, const std::string& origin) {
  LMSHRINK_CHECK(file_bytes >= kLlama2cHeaderBytes && header.size() >= static_cast<size_t>(kLlama2cHeaderBytes), origin,
                 ": truncated llama2.c checkpoint: ", file_bytes, " bytes, the header alone is ", kLlama2cHeaderBytes);
  int32_t fields[7];
  std::memcpy(fields, header.data(), sizeof(fields));
  Llama2cHeader h{fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], true};
  h.shared_classifier = h.vocab_size > 0;
  LMSHRINK_CHECK(h.vocab_size != INT32_MIN, origin, ": not a llama2.c v0 checkpoint: vocab_size ", h.vocab_size);
  if (h.vocab_size < 0) h.vocab_size = -h.vocab_size;
  LMSHRINK_CHECK(h.dim > 0 && h.hidden_dim > 0 && h.n_layers > 0 && h.n_heads > 0 && h.n_kv_heads > 0 &&
                     h.vocab_size > 0 && h.seq_len > 0,
                 origin, ": not a llama2.c v0 checkpoint: header fields must be positive, got dim=", h.dim,
                 " hidden_dim=", h.hidden_dim, " n_layers=", h.n_layers, " n_heads=", h.n_heads,
                 " n_kv_heads=", h.n_kv_heads, " vocab_size=", h.vocab_size, " seq_len=", h.seq_len);
  LMSHRINK_CHECK(h.dim % h.n_heads == 0 && h.n_heads % h.n_kv_heads == 0 && (h.dim / h.n_heads) % 2 == 0, origin,
                 ": inconsistent header: dim ", h.dim, ", n_heads ", h.n_heads, ", n_kv_heads ", h.n_kv_heads);
  __int128 expected = kLlama2cHeaderBytes + 4 * payload_floats_wide(h);
  LMSHRINK_CHECK(expected == file_bytes, origin, ": file size ", file_bytes, " bytes does not match its header (",
                 "expected ", static_cast<long double>(expected), " bytes for dim=", h.dim, " layers=", h.n_layers,
                 " vocab=", h.vocab_size, file_bytes < expected ? "; truncated?)" : "; trailing data?)");
  return h;
}

Llama2cHeader read_llama2c_header(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  LMSHRINK_CHECK(file.good(), path, ": cannot open llama2.c checkpoint");
  std::error_code error;
  int64_t file_bytes = static_cast<int64_t>(std::filesystem::file_size(path, error));
  LMSHRINK_CHECK(!error, path, ": cannot read the file size of the llama2.c checkpoint");
  char header[kLlama2cHeaderBytes] = {};
  file.read(header, sizeof(header));
  return parse_llama2c_header(std::string_view(header, static_cast<size_t>(file.gcount())), file_bytes, path);
}

int64_t llama2c_payload_floats(const Llama2cHeader& h) { return static_cast<int64_t>(payload_floats_wide(h)); }

}  // namespace lmshrink
