// The tokenizer a GGUF file carries as metadata (llama.cpp's tokenizer.ggml.* keys), turned back into the files
// lmshrink's tokenizers read, without libtorch:
//   - "llama" (SentencePiece: tokens, scores, token types; BOS 1, EOS 2, unknown 0) becomes a llama2.c tokenizer.bin
//     (U+2581 turned back into spaces in normal pieces, as llama2.c stores them); its encoder is run.c's, which is
//     SentencePiece's BPE merge by score with byte fallback, as llama.cpp's SPM tokenizer;
//   - "gpt2" (byte-level BPE: tokens, token types, merges, the pre-tokenizer name) becomes a tokenizer.json and a
//     tokenizer_config.json: normal tokens form the BPE vocabulary, control and user-defined tokens the added tokens
//     (special and not), unused ids ([PADn]) are left out; the pre-tokenizer is the one llama.cpp names:
//     "llama-bpe" (Llama-3: its split regex, ignore_merges), "qwen2" (Qwen2/3: NFC, its regex) or
//     "default"/"gpt-2" (GPT-2's byte-level regex). Other tokenizer models and pre-tokenizers are refused by name.
#pragma once
#include <memory>
#include <string>

#include "lmshrink/io/gguf_header.h"
#include "lmshrink/tokenizer/tokenizer.h"

namespace lmshrink {

// The files that hold a GGUF's tokenizer: {"tokenizer.bin", bytes} or {"tokenizer.json", text} and
// {"tokenizer_config.json", text}. origin names the GGUF in errors.
struct GgufTokenizerFiles {
  std::string tokenizer_bin;          // "llama" vocabularies
  std::string tokenizer_json;         // "gpt2" vocabularies
  std::string tokenizer_config_json;
};
GgufTokenizerFiles gguf_tokenizer_files(const GgufHeader& header, const std::string& origin);

// The tokenizer of a GGUF header, or of the GGUF file at path (its header is read through a mapping).
std::unique_ptr<Tokenizer> gguf_tokenizer(const GgufHeader& header, const std::string& origin);
std::unique_ptr<Tokenizer> read_gguf_tokenizer(const std::string& path);

// Writes the tokenizer files of the GGUF at path into dir (replacing same-named files).
void write_gguf_tokenizer_files(const std::string& path, const std::string& dir);

// The tokenizer.json text of a tokenizer file: the file itself, or a GGUF's "gpt2" vocabulary as tokenizer.json.
std::string tokenizer_json_text(const std::string& tokenizer_file);

bool is_gguf_path(const std::string& path);  // ends in .gguf

// llama.cpp's token types (llama_token_type, gguf-py's TokenType), as tokenizer.ggml.token_type stores them; shared by
// the reader here and the writer (gguf_export.h).
namespace gguf_token {
enum Type : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };
}

bool is_byte_piece(const std::string& piece);  // "<0xXX>": a SentencePiece byte-fallback piece
// llama2.c stores SentencePiece pieces with spaces where SentencePiece and GGUF's "llama" vocabulary keep U+2581.
std::string spaces_to_word_boundaries(const std::string& piece);
std::string word_boundaries_to_spaces(const std::string& piece);

}  // namespace lmshrink
