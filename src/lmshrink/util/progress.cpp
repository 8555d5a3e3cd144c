// Progress reported through the installed callback (see progress.h).
#include "lmshrink/util/progress.h"

namespace lmshrink {

namespace {
bool g_quiet = false;

ProgressCallback& installed_callback() {
  static ProgressCallback callback;
  return callback;
}
}  // namespace

void set_progress_callback(ProgressCallback callback) { installed_callback() = std::move(callback); }
void set_progress_quiet(bool quiet) { g_quiet = quiet; }
bool progress_quiet() { return g_quiet; }

Progress::Progress(std::string label, int64_t total, bool quiet)
    : label_(std::move(label)), total_(total), quiet_(quiet || g_quiet || !installed_callback()),
      start_(std::chrono::steady_clock::now()), last_report_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(int64_t steps) {
  done_ += steps;
  if (quiet_) return;
  auto now = std::chrono::steady_clock::now();
  double since_start = std::chrono::duration<double>(now - start_).count();
  double since_report = std::chrono::duration<double>(now - last_report_).count();
  if (since_start < 1.0 || (reported_ && since_report < 0.1)) return;
  last_report_ = now;
  report(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (reported_ && !quiet_) report(true);
}

void Progress::report(bool finished) {
  ProgressUpdate update;
  update.label = label_;
  update.done = done_;
  update.total = total_;
  update.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  update.note = note_;
  update.finished = finished;
  installed_callback()(update);
  reported_ = true;
}

}  // namespace lmshrink
