// Tokenizer factory by file kind (see load.h).
#include "lmshrink/tokenizer/load.h"

#include <filesystem>

#include "lmshrink/io/gguf_tokenizer.h"
#include "lmshrink/tokenizer/hf_tokenizer.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

std::unique_ptr<Tokenizer> load_tokenizer_file(const std::string& path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path)) {
    fs::path json_path = fs::path(path) / "tokenizer.json";
    LMSHRINK_CHECK(fs::exists(json_path), path, ": expected a tokenizer.json in this folder");
    return std::make_unique<HfTokenizer>(json_path.string());
  }
  LMSHRINK_CHECK(fs::exists(path), path, ": tokenizer file not found");
  std::string extension = fs::path(path).extension().string();
  if (extension == ".bin") return std::make_unique<Llama2cTokenizer>(path);
  if (extension == ".json") return std::make_unique<HfTokenizer>(path);
  if (extension == ".gguf") return read_gguf_tokenizer(path);
  fail(path, ": unknown tokenizer kind (expected a llama2.c .bin, a tokenizer.json, a .gguf, or a folder holding "
       "tokenizer.json)");
}

}  // namespace lmshrink
