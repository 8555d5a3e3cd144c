// Input path registry and the output path check (see input_paths.h).
#include "lmshrink/io/input_paths.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace fs = std::filesystem;

namespace {

std::mutex& registry_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<std::string>& registry() {
  static std::vector<std::string> paths;
  return paths;
}

// Absolute, with symlinks of the existing part resolved and "." / ".." removed.
fs::path resolved(const std::string& path) {
  std::error_code error;
  fs::path absolute = fs::absolute(path, error);
  fs::path canonical = fs::weakly_canonical(absolute, error);
  return error ? absolute.lexically_normal() : canonical;
}

// True when `inner` equals `outer` or lies below it (component by component).
bool is_within(const fs::path& inner, const fs::path& outer) {
  auto [o, i] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  if (o == outer.end()) return true;
  return std::next(o) == outer.end() && o->empty();  // "dir/" ends in an empty component
}

}  // namespace

void note_input_path(const std::string& path) {
  if (path.empty()) return;
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry().push_back(resolved(path).string());
}

std::vector<std::string> input_paths() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  return registry();
}

void check_output_path(const std::string& target) {
  LMSHRINK_CHECK(!target.empty(), "output path is empty");
  fs::path out = resolved(target);
  std::error_code error;
  fs::path cwd = fs::current_path(error);
  if (!error) {
    LMSHRINK_CHECK(!is_within(resolved(cwd.string()), out), target,
                   ": the output would replace the working directory or a folder above it; choose a new folder");
  }
  for (const std::string& input : input_paths()) {
    fs::path in = input;
    LMSHRINK_CHECK(!is_within(in, out), target, ": the output would replace or contain the input ", input);
    LMSHRINK_CHECK(!is_within(out, in), target, ": the output would lie inside the input ", input);
  }
  fs::path parent = out.parent_path();
  LMSHRINK_CHECK(!fs::exists(parent, error) || fs::is_directory(parent, error), target, ": ", parent.string(),
                 " is not a folder");
}

void check_output_file(const std::string& target) {
  LMSHRINK_CHECK(!target.empty(), "output file path is empty");
  fs::path out = resolved(target);
  for (const std::string& input : input_paths()) {
    LMSHRINK_CHECK(out != fs::path(input), target, ": the output file would replace the input ", input);
  }
  std::error_code error;
  LMSHRINK_CHECK(!fs::is_directory(out, error), target, ": is a folder; name a file to write");
}

}  // namespace lmshrink
