// Helpers shared by the subcommands: JSON records and whole-file reads.
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "lmshrink/io/atomic_file.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

void write_json_file(const std::string& path, const nlohmann::json& record) {
  write_text_atomic(path, record.dump(2) + "\n");
}

std::string read_text_file(const std::string& path, const std::string& flag, bool non_empty) {
  std::ifstream in(path, std::ios::binary);
  LMSHRINK_CHECK(in.good() && std::filesystem::is_regular_file(path), flag, " ", path, ": cannot open file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  LMSHRINK_CHECK(!non_empty || !text.empty(), flag, " ", path, ": file is empty");
  return text;
}

std::string now_iso8601() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

}  // namespace lmshrink::cli
