// Helpers shared by the tests: paths into ../shared (a missing file fails the test loudly, never
// skips it), temp folders, and running the lmshrink binary.
#pragma once
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace lmshrink::testing {

// Absolute path of a file under ../shared; throws (failing the test) when it is missing.
inline std::string shared_path(const std::string& relative) {
  std::filesystem::path path = std::filesystem::path(LMSHRINK_SHARED_DIR) / relative;
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error("required test data missing: " + path.string() +
                             " (the tests read ../shared beside the checkout)");
  }
  return path.string();
}

inline std::string stories_bin() { return shared_path("models/stories260K/stories260K.bin"); }
inline std::string stories_tok() { return shared_path("models/stories260K/tok512.bin"); }
inline std::string aidreams_bin() { return shared_path("models/aidreams260K/aidreams260K.bin"); }
inline std::string aidreams_tok() { return shared_path("models/aidreams260K/tok512.bin"); }

// A fresh empty folder under the system temp dir, unique per test: the name carries the running
// test's suite and name, so tests that ctest runs in parallel never share (and delete) a folder.
inline std::filesystem::path temp_dir(const std::string& name) {
  std::string owner = "no_test";
  if (const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info())
    owner = std::string(test->test_suite_name()) + "." + test->name();
  for (char& c : owner)
    if (c == '/') c = '_';  // parameterised tests are named Prefix/Suite.Test/0
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("lmshrink_test_" + owner + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

struct CommandResult {
  int exit_code = -1;
  std::string stdout_text;
  std::string stderr_text;
};

inline std::string slurp(const std::filesystem::path& path) {
  std::string text;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) text.append(buffer, n);
    std::fclose(f);
  }
  return text;
}

// Runs `lmshrink <args>` (args already shell-quoted) and captures both streams; environment: "NAME=value ..." to set.
inline CommandResult run_lmshrink(const std::string& args, const std::string& tag, const std::string& environment = "") {
  std::filesystem::path dir = temp_dir("cli_" + tag);
  std::string command = (environment.empty() ? "" : "env " + environment + " ") + std::string(LMSHRINK_BINARY) + " --quiet " + args + " > " + (dir / "out").string() +
                        " 2> " + (dir / "err").string();
  int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.stdout_text = slurp(dir / "out");
  result.stderr_text = slurp(dir / "err");
  return result;
}

}  // namespace lmshrink::testing
