// Progress on stderr (see progress_display.h): a redrawn bar on a terminal, rate-limited plain lines elsewhere.
#include "cli/progress_display.h"

#include <chrono>
#include <memory>
#include <string>

namespace lmshrink::cli {

namespace {

std::string format_seconds(double seconds) {
  char text[32];
  int64_t whole = static_cast<int64_t>(seconds + 0.5);
  std::snprintf(text, sizeof(text), "%lld:%02lld", static_cast<long long>(whole / 60), static_cast<long long>(whole % 60));
  return text;
}

double fraction_done(const ProgressUpdate& u) {
  double fraction = u.total > 0 ? static_cast<double>(u.done) / static_cast<double>(u.total) : 0.0;
  return fraction > 1.0 ? 1.0 : fraction;
}

// "label [####......] 12/40 3.1/s elapsed 0:04 eta 0:09 note"
std::string progress_text(const ProgressUpdate& u, bool with_bar) {
  double rate = u.elapsed_seconds > 0 ? static_cast<double>(u.done) / u.elapsed_seconds : 0.0;
  double eta = (rate > 0 && u.total > u.done) ? static_cast<double>(u.total - u.done) / rate : 0.0;
  std::string text = u.label + " ";
  if (with_bar) {
    const int width = 30;
    int filled = static_cast<int>(fraction_done(u) * width);
    text += "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  }
  char figures[160];
  std::snprintf(figures, sizeof(figures), "%lld/%lld %.1f/s elapsed %s eta %s", static_cast<long long>(u.done),
                static_cast<long long>(u.total), rate, format_seconds(u.elapsed_seconds).c_str(), format_seconds(eta).c_str());
  text += figures;
  if (!u.note.empty()) text += " " + u.note;
  return text;
}

// Plain lines for a log: the first update, then one at each new tenth or after 5 s, and the last; never two within
// a second of each other (across every Progress of the process).
struct LogLines {
  std::FILE* out;
  std::chrono::steady_clock::time_point last_line{};
  bool any_line = false;
  std::string last_label;
  int last_tenth = -1;

  void operator()(const ProgressUpdate& u) {
    auto now = std::chrono::steady_clock::now();
    double since_line = any_line ? std::chrono::duration<double>(now - last_line).count() : 1e9;
    int tenth = static_cast<int>(fraction_done(u) * 10);
    bool news = u.label != last_label || tenth != last_tenth || since_line >= 5.0 || u.finished;
    if (since_line < 1.0 || !news) return;
    std::fprintf(out, "%s%s\n", progress_text(u, false).c_str(), u.finished ? " done" : "");
    std::fflush(out);
    last_line = now;
    any_line = true;
    last_label = u.label;
    last_tenth = tenth;
  }
};

}  // namespace

ProgressCallback progress_display(std::FILE* out, bool terminal) {
  if (!terminal) {
    auto lines = std::make_shared<LogLines>(LogLines{out});
    return [lines](const ProgressUpdate& u) { (*lines)(u); };
  }
  return [out](const ProgressUpdate& u) {
    std::fprintf(out, "\r%s\x1b[K%s", progress_text(u, true).c_str(), u.finished ? "\n" : "");  // clear the rest
    std::fflush(out);
  };
}

}  // namespace lmshrink::cli
