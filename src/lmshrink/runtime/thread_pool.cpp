// The spin-then-sleep wait of the kernel thread pool (see thread_pool.h).
#include "lmshrink/runtime/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace lmshrink {

namespace {
std::atomic<int64_t> spin_microseconds{200};
std::atomic<int> threads_of_kernels{0};
}  // namespace

void set_kernel_spin_microseconds(int64_t microseconds) { spin_microseconds = std::max<int64_t>(0, microseconds); }
int64_t kernel_spin_microseconds() { return spin_microseconds.load(); }

void set_kernel_threads(int threads) { threads_of_kernels = std::max(0, threads); }
int kernel_threads() {
  int threads = threads_of_kernels.load();
  return threads > 0 ? threads : at::get_num_threads();
}

KernelThreadsScope::KernelThreadsScope(int threads)
    : torch_threads_(at::get_num_threads()), kernel_threads_(threads_of_kernels.load()) {
  set_kernel_threads(threads > 0 ? threads : torch_threads_);
  at::set_num_threads(1);
}

KernelThreadsScope::~KernelThreadsScope() {
  at::set_num_threads(torch_threads_);
  set_kernel_threads(kernel_threads_);
}

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
