// Wall-clock seconds for the stage times that results and run records carry (calibration, decomposition, prefill).
#pragma once
#include <chrono>

namespace lmshrink {

using SteadyClock = std::chrono::steady_clock;

inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace lmshrink
