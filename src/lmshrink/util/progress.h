// A progress bar with rate and ETA on stderr. It stays silent for work that finishes within a
// second, and entirely when quiet; it redraws at most ten times a second.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace lmshrink {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool quiet);
  ~Progress();
  void advance(int64_t steps = 1);
  void finish();
  void set_note(std::string note) { note_ = std::move(note); }  // shown after the ETA, e.g. "loss 2.31"

 private:
  void draw(bool final_draw);
  std::string label_;
  std::string note_;
  int64_t total_;
  int64_t done_ = 0;
  bool quiet_;
  bool drawn_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// Global default used by library code that reports progress; the CLI sets it from --quiet.
void set_progress_quiet(bool quiet);
bool progress_quiet();

}  // namespace lmshrink
