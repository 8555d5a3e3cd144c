// Progress bar on stderr (see progress.h).
#include "lmshrink/util/progress.h"

#include <cstdio>

namespace lmshrink {

namespace {
bool g_quiet = false;

std::string format_seconds(double seconds) {
  char text[32];
  int64_t whole = static_cast<int64_t>(seconds + 0.5);
  std::snprintf(text, sizeof(text), "%lld:%02lld", static_cast<long long>(whole / 60),
                static_cast<long long>(whole % 60));
  return text;
}
}  // namespace

void set_progress_quiet(bool quiet) { g_quiet = quiet; }
bool progress_quiet() { return g_quiet; }

Progress::Progress(std::string label, int64_t total, bool quiet)
    : label_(std::move(label)), total_(total), quiet_(quiet || g_quiet),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::advance(int64_t steps) {
  done_ += steps;
  if (quiet_) return;
  auto now = std::chrono::steady_clock::now();
  double since_start = std::chrono::duration<double>(now - start_).count();
  double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  if (since_start < 1.0 || (drawn_ && since_draw < 0.1)) return;
  last_draw_ = now;
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (drawn_ && !quiet_) draw(true);
}

void Progress::draw(bool final_draw) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double fraction = total_ > 0 ? static_cast<double>(done_) / total_ : 0.0;
  if (fraction > 1.0) fraction = 1.0;
  const int width = 30;
  int filled = static_cast<int>(fraction * width);
  std::string bar(filled, '#');
  bar.append(width - filled, '.');
  double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  double eta = (rate > 0 && total_ > done_) ? (total_ - done_) / rate : 0.0;
  std::fprintf(stderr, "\r%s [%s] %lld/%lld %.1f/s elapsed %s eta %s%s%s%s", label_.c_str(), bar.c_str(),
               static_cast<long long>(done_), static_cast<long long>(total_), rate, format_seconds(elapsed).c_str(),
               format_seconds(eta).c_str(), note_.empty() ? "" : " ", note_.c_str(), final_draw ? "\n" : "");
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace lmshrink
