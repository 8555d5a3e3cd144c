// Picks the tokenizer implementation for a path: llama2.c's tokenizer.bin, a Hugging Face
// tokenizer.json, or a model folder holding tokenizer.json.
#pragma once
#include <memory>
#include <string>

#include "lmshrink/tokenizer/tokenizer.h"

namespace lmshrink {

// path ending in .bin -> Llama2cTokenizer; ending in .json -> HfTokenizer; ending in .gguf -> the GGUF's tokenizer
// metadata (io/gguf_tokenizer.h); a directory ->
// HfTokenizer on <dir>/tokenizer.json. Anything else, or a missing file, throws lmshrink::Error.
std::unique_ptr<Tokenizer> load_tokenizer_file(const std::string& path);

}  // namespace lmshrink
