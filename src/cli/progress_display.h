// How the CLI shows the library's progress (lmshrink/util/progress.h) on stderr: on a terminal, one bar redrawn in
// place (at most ten times a second); anywhere else (a file, a CI log), plain lines: one every 5 seconds or at each
// further tenth of the work, never more than one a second, so a log holds no carriage-return storms.
#pragma once
#include <cstdio>

#include "lmshrink/util/progress.h"

namespace lmshrink::cli {

// The callback to install with set_progress_callback. terminal: whether `out` is a terminal (isatty).
ProgressCallback progress_display(std::FILE* out, bool terminal);

}  // namespace lmshrink::cli
