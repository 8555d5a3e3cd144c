// A GGUF checkpoint (llama.cpp's format) as an lmshrink model (issue 24): architectures "llama" (Llama, Mistral,
// llama2.c exports), "qwen2" and "qwen3"; tensors F32, F16, BF16 (kept as stored, memory-mapped) or Q8_0
// (dequantised to float32 at load). The inverse of gguf_export.h: llama.cpp's tensor names map to the projections
// (model/projections.h gguf_name), "llama" q/k rows (and biases) are permuted from llama.cpp's interleaved RoPE pairs
// back to Hugging Face's rotate-half order, biases and q/k norms are read where present, a missing output.weight
// means tied embeddings, and Llama-3's rope_freqs tensor is turned back into rope_scaling (factor, low/high frequency
// factors, original context; checked by recomputing the factors). Every tensor of the file must be used and match
// its expected shape; metadata is checked as config.json is (model/config.h validate_config).
#pragma once
#include <memory>
#include <string>

#include "lmshrink/io/gguf_header.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

// allow_nonfinite: load weights holding NaN or Inf (for `inspect --allow-nonfinite`); otherwise they are an error.
std::unique_ptr<Transformer> load_gguf_model(const std::string& path, bool allow_nonfinite = false);

// The model configuration a GGUF header describes (vocab_size from token_embd, tied embeddings when output.weight
// is absent, biases and q/k norms by the tensors present; llama3 RoPE is filled in by load_gguf_model).
ModelConfig gguf_model_config(const GgufHeader& header, const std::string& origin);

}  // namespace lmshrink
