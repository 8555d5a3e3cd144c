// Reader for llama2.c's legacy v0 checkpoint (run.c): a header of 7 int32 (dim, hidden_dim,
// n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a positive vocab_size means the classifier
// shares the embedding), then float32 tensors in run.c's order. The file size must equal the header's
// prediction exactly. llama2.c rotates interleaved pairs (x[2i], x[2i+1]) in RoPE; HF rotates halves
// (x[i], x[i + d/2]). The q and k rows are permuted per head at load so one forward pass serves both.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

#include "lmshrink/io/llama2c_header.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

// allow_nonfinite: load weights holding NaN or Inf (for `inspect --allow-nonfinite`); otherwise they are an error
// naming the tensor (finite_weights.h).
std::unique_ptr<Transformer> load_llama2c(const std::string& path, bool allow_nonfinite = false);

// Rows of w_out_in ([heads * head_dim, in]) reordered per head from interleaved RoPE pairs to
// rotate-half order: new row j < d/2 is old row 2j, new row d/2 + j is old row 2j + 1.
at::Tensor interleaved_to_rotate_half(const at::Tensor& w_out_in, int64_t heads, int64_t head_dim);

}  // namespace lmshrink
