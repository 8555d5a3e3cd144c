// lmshrink convert: a llama2.c checkpoint + tokenizer.bin -> a standard Hugging Face Llama directory
// (config.json, model.safetensors with q/k rows already in rotate-half order, tokenizer.json and
// tokenizer_config.json). The tokenizer becomes SentencePiece-style BPE: normalizer Prepend("▁") +
// Replace(" " -> "▁"), byte fallback, and merges derived from the vocabulary scores the way
// transformers' SentencePieceExtractor does: every split of a piece into two known pieces, ordered
// by the merged piece's score (best first).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "lmshrink/io/hf_model.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"

namespace lmshrink {

nlohmann::json llama2c_tokenizer_json(const Llama2cTokenizer& tokenizer);
nlohmann::json llama2c_tokenizer_config_json(const Llama2cTokenizer& tokenizer, int64_t context);

// Writes out_dir atomically; it must not exist unless overwrite. Returns the number of merges written.
int64_t convert_llama2c_to_hf(const std::string& checkpoint, const std::string& tokenizer_path,
                              const std::string& out_dir, bool overwrite, const CheckpointFormat& format = {});

}  // namespace lmshrink
