// Model and tokenizer path resolution (see model_loader.h).
#include "lmshrink/io/model_loader.h"

#include <algorithm>
#include <filesystem>

#include "lmshrink/io/gguf_model.h"
#include "lmshrink/io/gguf_tokenizer.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/input_paths.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "lmshrink/tokenizer/load.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace fs = std::filesystem;

namespace {

bool is_tokenizer_name(const std::string& name) {
  return name == "tokenizer.bin" || (name.rfind("tok", 0) == 0 && name.size() > 4 &&
                                     name.substr(name.size() - 4) == ".bin");
}

std::vector<fs::path> files_with_suffix(const fs::path& dir, const std::string& suffix) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() > suffix.size() &&
        name.substr(name.size() - suffix.size()) == suffix) {
      found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

LoadedModel load_model(const std::string& path, bool allow_nonfinite) {
  LMSHRINK_CHECK(fs::exists(path), path, ": no such model file or directory");
  note_input_path(path);
  fs::path checkpoint = path;
  if (!fs::is_directory(checkpoint) && is_gguf_path(path)) {
    return LoadedModel{checkpoint.string(), load_gguf_model(checkpoint.string(), allow_nonfinite)};
  }
  if (fs::is_directory(checkpoint) && fs::exists(checkpoint / "config.json")) {
    return LoadedModel{checkpoint.string(), load_hf_model(checkpoint.string(), allow_nonfinite)};
  }
  if (fs::is_directory(checkpoint)) {
    std::vector<fs::path> candidates;
    for (const fs::path& p : files_with_suffix(checkpoint, ".bin")) {
      if (!is_tokenizer_name(p.filename().string())) candidates.push_back(p);
    }
    LMSHRINK_CHECK(candidates.size() == 1, path, ": expected a Hugging Face directory (config.json) or one llama2.c checkpoint (*.bin), found ",
                   candidates.size());
    checkpoint = candidates[0];
  }
  LMSHRINK_CHECK(checkpoint.extension() == ".bin", checkpoint.string(),
                 ": unknown model format (supported: a Hugging Face directory with config.json, a GGUF file (.gguf), a llama2.c .bin file or a directory holding one)");
  return LoadedModel{checkpoint.string(), load_llama2c(checkpoint.string(), allow_nonfinite)};
}

std::string find_tokenizer_path(const std::string& tokenizer_path, const LoadedModel& model) {
  std::string path = tokenizer_path;
  if (path.empty() && is_gguf_path(model.path)) path = model.path;  // a GGUF carries its tokenizer
  if (path.empty()) {
    fs::path dir = fs::is_directory(model.path) ? fs::path(model.path) : fs::path(model.path).parent_path();
    if (dir.empty()) dir = ".";
    if (fs::exists(dir / "tokenizer.json")) {
      path = (dir / "tokenizer.json").string();
    } else {
      for (const fs::path& p : files_with_suffix(dir, ".bin")) {
        if (is_tokenizer_name(p.filename().string())) {
          path = p.string();
          break;
        }
      }
    }
    LMSHRINK_CHECK(!path.empty(), model.path,
                   ": no tokenizer beside the model (tokenizer.json, tokenizer.bin or tok*.bin); pass --tokenizer");
  }
  LMSHRINK_CHECK(fs::exists(path), path, ": no such tokenizer file");
  if (fs::is_directory(path) && fs::exists(fs::path(path) / "tokenizer.json")) path = (fs::path(path) / "tokenizer.json").string();
  note_input_path(path);
  return path;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& tokenizer_path, const LoadedModel& model) {
  std::string path = find_tokenizer_path(tokenizer_path, model);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer_file(path);
  int64_t model_vocab = model.model->config().vocab_size;
  // tokenizer.json (and a GGUF's byte-level vocabulary) may cover fewer ids than the embedding has rows (Qwen pads
  // it); llama2.c's tokenizer.bin (and a GGUF's SentencePiece vocabulary) always has exactly the model's vocabulary.
  bool exact = dynamic_cast<const Llama2cTokenizer*>(tokenizer.get()) != nullptr;
  LMSHRINK_CHECK(exact ? tokenizer->vocab_size() == model_vocab : tokenizer->vocab_size() <= model_vocab, path,
                 ": tokenizer has ", tokenizer->vocab_size(), " tokens but the model ", model.path,
                 " has a vocabulary of ", model_vocab, " (wrong tokenizer?)");
  return tokenizer;
}

void copy_tokenizer_files(const std::string& tokenizer_file, const std::string& dir) {
  fs::path source = tokenizer_file;
  LMSHRINK_CHECK(fs::is_regular_file(source), tokenizer_file, ": the tokenizer to copy is not a file");
  if (is_gguf_path(tokenizer_file)) {
    write_gguf_tokenizer_files(tokenizer_file, dir);
    return;
  }
  if (source.extension() != ".json") {
    fs::copy_file(source, fs::path(dir) / "tokenizer.bin", fs::copy_options::overwrite_existing);
    return;
  }
  fs::copy_file(source, fs::path(dir) / "tokenizer.json", fs::copy_options::overwrite_existing);
  for (const char* sibling : {"tokenizer_config.json", "special_tokens_map.json", "generation_config.json"}) {
    fs::path file = source.parent_path() / sibling;
    if (fs::is_regular_file(file)) fs::copy_file(file, fs::path(dir) / sibling, fs::copy_options::overwrite_existing);
  }
}

}  // namespace lmshrink
