// Resolves a user-given model path to a loaded model and finds its tokenizer. A path is a Hugging
// Face directory (config.json + safetensors), a GGUF file (.gguf: gguf_model.h; its tokenizer is its metadata), a
// llama2.c .bin file, or a directory holding one.
#pragma once
#include <memory>
#include <string>

#include "lmshrink/model/transformer.h"
#include "lmshrink/tokenizer/tokenizer.h"

namespace lmshrink {

struct LoadedModel {
  std::string path;  // the checkpoint file (llama2.c) or directory (HF) actually read
  std::unique_ptr<Transformer> model;
};

// Weights holding NaN or Inf are an error naming the tensor (io/finite_weights.h) unless allow_nonfinite
// (`inspect --allow-nonfinite` only: every other command would compute NaN).
LoadedModel load_model(const std::string& path, bool allow_nonfinite = false);

// An explicit tokenizer path (tokenizer.bin, tokenizer.json or a folder holding one), or (when
// empty) the tokenizer beside the model: tokenizer.json, else tokenizer.bin or tok*.bin. Checks that
// its vocabulary fits the model's.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& tokenizer_path, const LoadedModel& model);

// The tokenizer file load_tokenizer reads for these arguments (explicit, or found beside the model).
std::string find_tokenizer_path(const std::string& tokenizer_path, const LoadedModel& model);

// Copies a model's tokenizer into a model directory being written: a tokenizer.json with its
// tokenizer_config.json, special_tokens_map.json and generation_config.json siblings when present,
// a llama2.c tokenizer as tokenizer.bin, or a GGUF's tokenizer as one of these (gguf_tokenizer.h).
void copy_tokenizer_files(const std::string& tokenizer_file, const std::string& dir);

}  // namespace lmshrink
