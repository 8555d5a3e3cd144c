// Atomic file and directory output (see atomic_file.h).
#include "lmshrink/io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "lmshrink/io/input_paths.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/kill_point.h"

namespace lmshrink {

namespace fs = std::filesystem;

namespace {
// The first 8 bytes of a small file ("" when unreadable).
std::string slurp_prefix(const fs::path& file) {
  char buffer[8] = {};
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) return "";
  size_t n = std::fread(buffer, 1, sizeof(buffer), f);
  std::fclose(f);
  return std::string(buffer, n);
}

void fsync_directory(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

AtomicFile::AtomicFile(const std::string& path)
    : path_(path), temp_path_(path + ".tmp-" + std::to_string(::getpid())) {
  file_ = std::fopen(temp_path_.c_str(), "wb");
  LMSHRINK_CHECK(file_ != nullptr, path, ": cannot create file (folder missing or not writable?)");
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(temp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t bytes) {
  LMSHRINK_CHECK(std::fwrite(data, 1, bytes, file_) == bytes, path_, ": write failed: ", std::strerror(errno));
}

void AtomicFile::commit() {
  LMSHRINK_CHECK(std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0, path_, ": write failed: ", std::strerror(errno));
  std::fclose(file_);
  file_ = nullptr;
  LMSHRINK_CHECK(std::rename(temp_path_.c_str(), path_.c_str()) == 0, path_, ": rename of the temp file failed");
  committed_ = true;
  fsync_directory(fs::path(path_).parent_path());
}

namespace {

const std::string kMarkerSuffix = ".owner";  // "<target>.tmp-<pid>" + this names a staging folder's marker file

bool process_alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH; }

// "<name>.tmp-<pid>.owner" -> pid, or -1 when `file` is not such a marker.
long marker_pid(const std::string& file) {
  const std::string infix = ".tmp-";
  if (file.size() <= kMarkerSuffix.size() ||
      file.compare(file.size() - kMarkerSuffix.size(), kMarkerSuffix.size(), kMarkerSuffix) != 0) {
    return -1;
  }
  std::string stem = file.substr(0, file.size() - kMarkerSuffix.size());
  size_t at = stem.rfind(infix);
  if (at == std::string::npos || at + infix.size() == stem.size()) return -1;
  std::string digits = stem.substr(at + infix.size());
  if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
  return std::stol(digits);
}

// Removes what dead lmshrink processes left in `dir`: their staging folders, and ".old" asides (moved back
// onto their target when the kill came between the two renames of a replacement).
void remove_stale_staging(const fs::path& dir) {
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir.empty() ? "." : dir, error)) {
    std::string name = entry.path().filename().string();
    long pid = marker_pid(name);
    if (pid <= 0 || process_alive(pid) || slurp_prefix(entry.path()) != "lmshrink") continue;
    std::string marker = entry.path().string();
    std::string staging = marker.substr(0, marker.size() - kMarkerSuffix.size());
    std::string target = staging.substr(0, staging.rfind(".tmp-")), old = staging + ".old";
    std::error_code ignored;
    if (fs::exists(old, ignored) && !fs::exists(target, ignored)) fs::rename(old, target, ignored);
    fs::remove_all(old, ignored);
    fs::remove_all(staging, ignored);
    fs::remove(entry.path(), ignored);
  }
}

}  // namespace

AtomicDirectory::AtomicDirectory(const std::string& target, bool overwrite)
    : target_(fs::path(target).lexically_normal().string()), overwrite_(overwrite) {
  if (target_.size() > 1 && target_.back() == '/') target_.pop_back();
  check_output_path(target_);
  remove_stale_staging(fs::path(target_).parent_path());
  LMSHRINK_CHECK(overwrite || !fs::exists(fs::symlink_status(target_)), target_,
                 ": output already exists (choose another path or pass --force to replace it)");
  staging_ = target_ + ".tmp-" + std::to_string(::getpid());
  marker_ = staging_ + kMarkerSuffix;
  std::error_code error;
  fs::path parent = fs::path(target_).parent_path();
  if (!parent.empty()) fs::create_directories(parent, error);  // -o a/b/out creates a/b, as it always did
  LMSHRINK_CHECK(!error, target_, ": cannot create the folder ", parent.string(), ": ", error.message());
  std::FILE* marker = std::fopen(marker_.c_str(), "wb");
  LMSHRINK_CHECK(marker != nullptr, target_, ": cannot create files beside the output (folder not writable?)");
  std::fputs("lmshrink staging folder\n", marker);
  std::fclose(marker);
  fs::remove_all(staging_, error);
  if (!error) fs::create_directories(staging_, error);
  if (error) {  // the destructor will not run: take the marker back here
    std::error_code ignored;
    fs::remove(marker_, ignored);
    fail(staging_, ": cannot create output folder: ", error.message());
  }
  kill_point("staging-created");
}

AtomicDirectory::~AtomicDirectory() {
  std::error_code ignored;
  if (!committed_) fs::remove_all(staging_, ignored);
  fs::remove(marker_, ignored);
}

// Swaps the finished folder with the old target, then deletes the old one (now at staging_).
void AtomicDirectory::replace_target() {
  static const bool exchange = std::getenv("LMSHRINK_TEST_NO_EXCHANGE") == nullptr;  // tests reach the fallback
  if (exchange && ::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) == 0) {
    kill_point("after-exchange");
    committed_ = true;
    std::error_code ignored;
    fs::remove_all(staging_, ignored);
    return;
  }
  LMSHRINK_CHECK(!exchange || errno == EINVAL || errno == ENOSYS || errno == ENOTSUP, target_,
                 ": cannot swap the finished output into place: ", std::strerror(errno));
  std::string old = staging_ + ".old";
  std::error_code error;
  fs::rename(target_, old, error);
  LMSHRINK_CHECK(!error, target_, ": cannot move the old output aside: ", error.message());
  kill_point("after-aside");
  fs::rename(staging_, target_, error);
  if (error) {
    std::error_code ignored;
    fs::rename(old, target_, ignored);  // put the old output back before giving up
    fail(target_, ": cannot move the finished output into place: ", error.message());
  }
  committed_ = true;
  fs::remove_all(old, error);
}

void AtomicDirectory::commit() {
  fsync_directory(staging_);
  kill_point("before-replace");
  if (overwrite_ && fs::exists(fs::symlink_status(target_))) {
    replace_target();
  } else {
    std::error_code error;
    fs::rename(staging_, target_, error);
    LMSHRINK_CHECK(!error, target_, ": cannot move the finished output into place: ", error.message());
    committed_ = true;
  }
  fsync_directory(fs::path(target_).parent_path());
  std::error_code ignored;
  fs::remove(marker_, ignored);
}

void write_text_atomic(const std::string& path, const std::string& text) {
  AtomicFile file(path);
  file.write(text.data(), text.size());
  file.commit();
}

}  // namespace lmshrink
