// Calibration corpus readers (JSONL, <|endoftext|>-separated stories, raw text) and presets.
#include "lmshrink/calib/corpus.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

const char* kStorySeparator = "<|endoftext|>";

std::string read_file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LMSHRINK_CHECK(in.good(), "calibration corpus ", path, ": cannot open the file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

std::vector<std::string> read_jsonl(const std::string& path, const std::string& text) {
  std::vector<std::string> docs;
  std::istringstream lines(text);
  std::string line;
  int64_t line_number = 0;
  while (std::getline(lines, line)) {
    ++line_number;
    if (is_blank(line)) continue;
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail(path, ":", line_number, ": not a JSON object (", e.what(), ")");
    }
    LMSHRINK_CHECK(record.is_object() && record.contains("text") && record["text"].is_string(), path, ":",
                   line_number, ": expected a JSON object with a string field \"text\"");
    docs.push_back(record["text"].get<std::string>());
  }
  return docs;
}

// Splits on lines that are exactly the separator; the text between is one document (its final
// newline before the separator line dropped, as in "\n<|endoftext|>\n").
std::vector<std::string> read_stories(const std::string& text) {
  std::vector<std::string> docs;
  std::string current;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == kStorySeparator) {
      docs.push_back(current);
      current.clear();
    } else {
      if (!current.empty()) current += '\n';
      current += line;
    }
    pos = end + 1;
  }
  if (!current.empty()) docs.push_back(current);
  return docs;
}

bool has_separator_line(const std::string& text) {
  const std::string sep = kStorySeparator;
  for (size_t at = text.find(sep); at != std::string::npos; at = text.find(sep, at + 1)) {
    bool line_start = at == 0 || text[at - 1] == '\n';
    size_t after = at + sep.size();
    bool line_end = after == text.size() || text[after] == '\n' || text[after] == '\r';
    if (line_start && line_end) return true;
  }
  return false;
}

}  // namespace

std::string default_calib_data_dir() {
  if (const char* env = std::getenv("LMSHRINK_DATA_DIR"); env && *env) return env;
  return "../shared/data";
}

std::string corpus_preset_path(const std::string& name, const std::string& data_dir) {
  static const std::map<std::string, std::string> presets = {
      {"c4-train", "c4/c4-train-head.jsonl"},
      {"c4-validation", "c4/c4-validation-head.jsonl"},
      {"wikitext2", "wikitext2/wiki.test.raw"},
      {"tinystories", "tinystories/tinystories-valid-calib.txt"},
      {"ptb", "ptb/ptb.valid.txt"},
  };
  auto it = presets.find(name);
  if (it == presets.end()) return "";
  std::string dir = data_dir.empty() ? default_calib_data_dir() : data_dir;
  return (std::filesystem::path(dir) / it->second).string();
}

std::vector<std::string> read_corpus(const std::string& preset_or_path, const std::string& data_dir) {
  std::string path = corpus_preset_path(preset_or_path, data_dir);
  if (path.empty()) path = preset_or_path;
  LMSHRINK_CHECK(std::filesystem::is_regular_file(path), "calibration corpus ", preset_or_path,
                 ": neither a preset (c4-train, c4-validation, wikitext2, tinystories, ptb) nor a file",
                 path == preset_or_path ? "" : str_cat(" (preset file ", path, " is missing)"));
  std::string text = read_file_text(path);
  std::vector<std::string> docs;
  if (ends_with(path, ".jsonl")) {
    docs = read_jsonl(path, text);
  } else if (has_separator_line(text)) {
    docs = read_stories(text);
  } else {
    docs.push_back(text);
  }
  std::vector<std::string> kept;
  for (auto& doc : docs) {
    if (!is_blank(doc)) kept.push_back(std::move(doc));
  }
  LMSHRINK_CHECK(!kept.empty(), "calibration corpus ", path, ": no non-empty documents");
  return kept;
}

}  // namespace lmshrink
