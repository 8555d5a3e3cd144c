// Helpers of the end-to-end CLI tests: shell quoting, small input files, the bad-input contract
// (exit code 2 and exactly one line on stderr naming the problem).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "test_support.h"

namespace lmshrink::testing {

inline std::string quote(const std::string& s) { return "'" + s + "'"; }

inline std::string write_file(const std::string& tag, const std::string& name, const std::string& bytes) {
  auto path = (temp_dir("file_" + tag) / name).string();
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
  return path;
}

inline void expect_bad_input(const CommandResult& r, const std::string& must_mention) {
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find(must_mention), std::string::npos) << r.stderr_text;
}

// The perplexity `lmshrink eval` printed ("ppl X ..."), or -1 when there is none.
inline double ppl_of(const CommandResult& r) {
  size_t at = r.stdout_text.find("ppl ");
  return at == std::string::npos ? -1.0 : std::stod(r.stdout_text.substr(at + 4));
}

inline nlohmann::json read_json(const std::filesystem::path& path) { return nlohmann::json::parse(slurp(path)); }

}  // namespace lmshrink::testing
