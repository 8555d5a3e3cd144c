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
// exist (unless overwrite, which replaces it only at commit), and must pass check_output_path (not
// the working directory or above it; not an input, nor inside or around one).
//
// Replacing (overwrite): the finished folder and the old target swap places in one atomic
// renameat2(RENAME_EXCHANGE), then the old one is deleted, so a kill at any instant leaves the old
// or the new output complete at the target. Where the file system cannot exchange, the old target
// is renamed aside to "<target>.tmp-<pid>.old" first; a kill between the two renames is repaired by
// the next run (below).
//
// A marker file "<target>.tmp-<pid>.owner" names the folder as lmshrink's; each new AtomicDirectory
// removes the staging folders of dead processes in its parent folder that carry such a marker (and
// moves an ".old" back when its target is missing).
class AtomicDirectory {
 public:
  AtomicDirectory(const std::string& target, bool overwrite);
  ~AtomicDirectory();
  AtomicDirectory(const AtomicDirectory&) = delete;
  AtomicDirectory& operator=(const AtomicDirectory&) = delete;
  const std::string& staging_path() const { return staging_; }  // write the files here
  void commit();

 private:
  void replace_target();

  std::string target_, staging_, marker_;
  bool overwrite_ = false;
  bool committed_ = false;
};

// Writes text atomically (AtomicFile).
void write_text_atomic(const std::string& path, const std::string& text);

}  // namespace lmshrink
