// The header of llama2.c's legacy v0 checkpoint (run.c), parsed without libtorch: 7 int32 (dim, hidden_dim,
// n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a positive vocab_size means the classifier shares the
// embedding), then float32 tensors in run.c's order. The file size must equal the header's prediction exactly,
// computed without overflow. parse_llama2c_header is the buffer entry point the fuzzers drive (fuzz/).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace lmshrink {

struct Llama2cHeader {
  int32_t dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
  bool shared_classifier = true;  // header vocab_size > 0
};

constexpr int64_t kLlama2cHeaderBytes = 7 * 4;

// header: the file's first bytes (at least 28 for a valid file); file_bytes: the file's size. Throws
// lmshrink::Error naming origin on any mismatch.
Llama2cHeader parse_llama2c_header(std::string_view header, int64_t file_bytes, const std::string& origin);
// Reads and validates the header of the file at path.
Llama2cHeader read_llama2c_header(const std::string& path);
// Number of float32 values that follow the header (for a header parse_llama2c_header accepted).
int64_t llama2c_payload_floats(const Llama2cHeader& header);

}  // namespace lmshrink
