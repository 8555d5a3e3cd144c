// Helpers of the end-to-end CLI tests: shell quoting, small input files, the bad-input contract
// (exit code 2 and exactly one line on stderr naming the problem).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
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

}  // namespace lmshrink::testing
