// The spin-then-sleep wait of the kernel thread pool (see thread_pool.h).
#include "lmshrink/runtime/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace lmshrink {

namespace {
std::atomic<int64_t> spin_microseconds{200};
}  // namespace

void set_kernel_spin_microseconds(int64_t microseconds) { spin_microseconds = std::max<int64_t>(0, microseconds); }
int64_t kernel_spin_microseconds() { return spin_microseconds.load(); }

bool spin_until(const std::function<bool()>& done, int64_t microseconds) {
  if (done()) return true;
  if (microseconds <= 0) return false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(microseconds);
  while (std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 16; ++i) {  // a few pauses between clock reads
#if defined(__x86_64__)
      _mm_pause();
#else
      std::this_thread::yield();
#endif
    }
    if (done()) return true;
  }
  return done();
}

}  // namespace lmshrink
