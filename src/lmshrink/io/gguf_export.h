// A model as a GGUF file that llama.cpp runs (issue 24): architecture "llama" (Llama, Mistral, llama2.c), "qwen2" or
// "qwen3"; llama.cpp's tensor names (token_embd, blk.N.attn_q, ..., output_norm, output); for "llama" the q and k rows
// permuted from Hugging Face's rotate-half order back to interleaved RoPE pairs, as llama.cpp's convert_hf_to_gguf.py
// does (qwen2/qwen3 use rotate-half RoPE in llama.cpp and keep them); Qwen2's q/k/v biases; Qwen3's q/k norms; RoPE
// theta, linear scaling and Llama-3's per-frequency factors (rope_freqs, computed as the converter does); context
// length, head counts, norm epsilon; the tokenizer as metadata. Norm weights and rope factors are F32, the matrices
// the requested type (Q8_0 rows whose length is not a multiple of 32 fall back to F16, as the converter does).
// Compressed layers are multiplied back to dense, one block in memory at a time.
// Tokenizers: llama2.c/SentencePiece vocabularies (tokenizer.bin) as tokenizer.ggml.model "llama" with scores and
// token types; byte-level BPE tokenizer.json (Llama-3, Qwen) as "gpt2" with merges, token types and the
// pre-tokenizer name ("llama-bpe" for Llama, "qwen2" for Qwen); a SentencePiece-style tokenizer.json (BPE with byte
// fallback: Llama-2, Mistral) as "llama", each piece scored by minus the rank of the first merge that makes it.
#pragma once
#include <cstdint>
#include <string>

#include "lmshrink/io/gguf_writer.h"
#include "lmshrink/model/transformer.h"
#include "lmshrink/tokenizer/tokenizer.h"

namespace lmshrink {

struct GgufExportResult {
  int64_t bytes = 0;              // the file's size
  int64_t densified_layers = 0;   // compressed projections multiplied back to dense
  int64_t f16_fallback_tensors = 0;  // Q8_0 requested but rows not a multiple of 32
  std::string architecture;       // GGUF general.architecture
  int64_t context_length = 0;     // written as <arch>.context_length
};

// The context length written: the model's, or a Mistral-style sliding window when shorter (llama.cpp's llama graph
// attends to the whole context; within the window, which lmshrink also never exceeds, the two are the same model).
int64_t gguf_context_length(const ModelConfig& config);

// The GGUF architecture of a model (llama, qwen2, qwen3); throws lmshrink::Error naming the unsupported one.
std::string gguf_architecture(const ModelConfig& config);

// Rows of w_out_in ([heads * head_dim, in], or a bias [heads * head_dim]) reordered per head from rotate-half order
// to interleaved RoPE pairs (the inverse of interleaved_to_rotate_half, llama2c.h).
at::Tensor rotate_half_to_interleaved(const at::Tensor& w_out_in, int64_t heads, int64_t head_dim);

// Writes `model` (blocks are densified and released as they are written, with progress per block) to path
// atomically: a failure leaves no file behind.
// tokenizer_file: the file `tokenizer` was read from (a tokenizer.json's merges are read from it).
GgufExportResult write_gguf_model(Transformer& model, const Tokenizer& tokenizer, const std::string& tokenizer_file,
                                  const std::string& path, GgufTensorType type);

}  // namespace lmshrink
