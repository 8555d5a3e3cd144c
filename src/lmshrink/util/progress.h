// Progress of long work, reported through a callback: the library never prints. A program installs one
// process-wide ProgressCallback (the CLI draws a bar on a terminal and writes plain lines to a log: cli/progress_display.h);
// with none installed, progress is silent. A Progress reports nothing for work that finishes within a second,
// then at most ten updates a second, and a last one (finished = true) when it ends.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace lmshrink {

struct ProgressUpdate {
  std::string label;  // what is running, e.g. "perplexity" or "calibration block 3"
  int64_t done = 0, total = 0;
  double elapsed_seconds = 0.0;
  std::string note;       // shown after the figures, e.g. "loss 2.31"
  bool finished = false;  // the last update of this Progress
};
using ProgressCallback = std::function<void(const ProgressUpdate&)>;

// Installs the callback every Progress reports to (an empty one: silent, the default). Not thread-safe: install it
// before starting work.
void set_progress_callback(ProgressCallback callback);

class Progress {
 public:
  Progress(std::string label, int64_t total, bool quiet = false);  // quiet: this one reports nothing
  ~Progress();
  void advance(int64_t steps = 1);
  void finish();
  void set_note(std::string note) { note_ = std::move(note); }

 private:
  void report(bool finished);
  std::string label_;
  std::string note_;
  int64_t total_;
  int64_t done_ = 0;
  bool quiet_;
  bool reported_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_report_;
};

// Global quiet switch, kept for call sites written before the callback: when set, every Progress is quiet.
void set_progress_quiet(bool quiet);
bool progress_quiet();

}  // namespace lmshrink
