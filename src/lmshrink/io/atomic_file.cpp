// Atomic file and directory output (see atomic_file.h).
#include "lmshrink/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace fs = std::filesystem;

namespace {
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
  LMSHRINK_CHECK(std::fwrite(data, 1, bytes, file_) == bytes, path_, ": write failed (disk full?)");
}

void AtomicFile::commit() {
  LMSHRINK_CHECK(std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0, path_, ": flush failed (disk full?)");
  std::fclose(file_);
  file_ = nullptr;
  LMSHRINK_CHECK(std::rename(temp_path_.c_str(), path_.c_str()) == 0, path_, ": rename of the temp file failed");
  committed_ = true;
  fsync_directory(fs::path(path_).parent_path());
}

AtomicDirectory::AtomicDirectory(const std::string& target, bool overwrite)
    : target_(fs::path(target).lexically_normal().string()), overwrite_(overwrite) {
  if (!target_.empty() && target_.back() == '/') target_.pop_back();
  LMSHRINK_CHECK(overwrite || !fs::exists(target_), target_, ": output already exists (choose another path or remove it)");
  staging_ = target_ + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(staging_);
  std::error_code error;
  fs::create_directories(staging_, error);
  LMSHRINK_CHECK(!error, staging_, ": cannot create output folder: ", error.message());
}

AtomicDirectory::~AtomicDirectory() {
  if (!committed_) {
    std::error_code ignored;
    fs::remove_all(staging_, ignored);
  }
}

void AtomicDirectory::commit() {
  fsync_directory(staging_);
  std::error_code error;
  if (overwrite_ && fs::exists(target_)) fs::remove_all(target_, error);
  fs::rename(staging_, target_, error);
  LMSHRINK_CHECK(!error, target_, ": cannot move the finished output into place: ", error.message());
  committed_ = true;
  fsync_directory(fs::path(target_).parent_path());
}

void write_text_atomic(const std::string& path, const std::string& text) {
  AtomicFile file(path);
  file.write(text.data(), text.size());
  file.commit();
}

}  // namespace lmshrink
