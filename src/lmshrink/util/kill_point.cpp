// Test-only kill points (see kill_point.h).
#include "lmshrink/util/kill_point.h"

#include <csignal>
#include <cstdlib>
#include <cstring>

namespace lmshrink {

void kill_point(const char* step) {
  static const char* target = std::getenv("LMSHRINK_KILL_AT");
  if (target != nullptr && std::strcmp(target, step) == 0) std::raise(SIGKILL);
}

}  // namespace lmshrink
