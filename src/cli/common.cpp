// Helpers shared by the subcommands: JSON records, whole-file reads, field names of library errors to flags.
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/input_paths.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

void add_checkpoint_flags(CLI::App& cmd, CheckpointArgs& args) {
  cmd.add_option("--dtype", args.dtype, "float dtype of the written weights and factors: bf16, f16 or f32 (default: the "
                                        "input's)");
  cmd.add_option("--shard-size", args.shard_size, "largest safetensors shard, e.g. 5GB (default), 500MB, 2GiB");
}

CheckpointFormat checkpoint_format(const CheckpointArgs& args) {
  CheckpointFormat format;
  if (!args.dtype.empty()) format.dtype = parse_checkpoint_dtype(args.dtype, "--dtype");
  format.shard_bytes = parse_byte_size(args.shard_size, "--shard-size");
  return format;
}

int64_t checkpoint_file_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(path)) return fs::is_regular_file(path) ? static_cast<int64_t>(fs::file_size(path)) : 0;
  int64_t bytes = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(path)) {
    std::string name = entry.path().filename().string();
    bool weights = entry.path().extension() == ".safetensors" || (name.size() > 4 && name.substr(name.size() - 4) == ".bin" &&
                                                                   name.rfind("tok", 0) != 0);
    if (entry.is_regular_file() && weights) bytes += static_cast<int64_t>(entry.file_size());
  }
  return bytes;
}

CLI::Validator at_least(double low) {
  return CLI::Validator(
      [low](std::string& text) {
        char* end = nullptr;
        double value = std::strtod(text.c_str(), &end);
        bool ok = end != text.c_str() && *end == '\0' && std::isfinite(value) && value >= low;
        return ok ? std::string() : "must be a number >= " + std::to_string(static_cast<long long>(low)) + ", got " + text;
      },
      ">=" + std::to_string(static_cast<long long>(low)));
}

void write_json_file(const std::string& path, const nlohmann::json& record) {
  check_output_file(path);
  // Generated text can end inside a UTF-8 character (a byte-fallback token): such bytes become U+FFFD instead of
  // failing the dump after the work is done.
  write_text_atomic(path, record.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void check_record_file(const std::string& path) {
  if (!path.empty()) check_output_file(path);
}

std::string read_text_file(const std::string& path, const std::string& flag, bool non_empty) {
  std::ifstream in(path, std::ios::binary);
  LMSHRINK_CHECK(in.good() && std::filesystem::is_regular_file(path), flag, " ", path, ": cannot open file");
  note_input_path(path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  LMSHRINK_CHECK(!non_empty || !text.empty(), flag, " ", path, ": file is empty");
  return text;
}


namespace {

bool field_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; }

}  // namespace

std::string with_flag_names(const std::string& message, const FieldFlags& flags) {
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    bool starts = field_char(message[i]) && (i == 0 || (message[i - 1] != '/' && message[i - 1] != '-'));
    if (!starts) {
      out += message[i++];
      continue;
    }
    size_t end = i;
    while (end < message.size() && field_char(message[end])) ++end;
    size_t word_end = end;
    while (word_end > i && message[word_end - 1] == '.') --word_end;  // a full stop ends the sentence, not the name
    std::string word = message.substr(i, word_end - i);
    for (const auto& [field, flag] : flags) {
      if (word == field) word = flag;
    }
    out += word + message.substr(word_end, end - word_end);
    i = end;
  }
  return out;
}

void run_with_flag_names(const std::function<void()>& run, const FieldFlags& flags) {
  try {
    run();
  } catch (const Error& e) {
    throw Error(with_flag_names(e.what(), flags));
  }
}

}  // namespace lmshrink::cli
