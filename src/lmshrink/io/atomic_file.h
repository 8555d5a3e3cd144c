// Atomic file and directory output: write into a temp file (or folder) beside the target, fsync,
// then rename over the target. If the writer is destroyed without commit(), the temp is removed,
// so a failure never leaves a half-written file or model directory.
#pragma once
#include <cstdio>
#include <string>

namespace lmshrink {

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(const void* data, size_t bytes);
  void commit();  // fsync + rename onto the target path

 private:
  std::string path_, temp_path_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// A directory built in "<target>.tmp-<pid>" and renamed onto target by commit(). The target must not
// exist (unless overwrite, which replaces it only at commit).
class AtomicDirectory {
 public:
  AtomicDirectory(const std::string& target, bool overwrite);
  ~AtomicDirectory();
  AtomicDirectory(const AtomicDirectory&) = delete;
  AtomicDirectory& operator=(const AtomicDirectory&) = delete;
  const std::string& staging_path() const { return staging_; }  // write the files here
  void commit();

 private:
  std::string target_, staging_;
  bool overwrite_ = false;
  bool committed_ = false;
};

// Writes text atomically (AtomicFile).
void write_text_atomic(const std::string& path, const std::string& text);

}  // namespace lmshrink
