// The kernel thread pool: every index of [0, n) is visited exactly once per call (pieces taken from a shared counter),
// for any thread count and with the
// workers spinning or sleeping between calls, over hundreds of back-to-back calls (a lost wake-up would hang or
// skip a chunk); spin_until stops when its condition holds or its time is up; KernelThreadsScope gives the kernels
// the thread count while libtorch runs on one, and restores both.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "lmshrink/runtime/thread_pool.h"
#include "runtime/kernel_test_support.h"

namespace {

struct Spin {  // set_kernel_spin_microseconds for one scope
  explicit Spin(int64_t microseconds) : saved(lmshrink::kernel_spin_microseconds()) {
    lmshrink::set_kernel_spin_microseconds(microseconds);
  }
  ~Spin() { lmshrink::set_kernel_spin_microseconds(saved); }
  int64_t saved;
};

TEST(KernelThreadPool, EveryIndexOnceForAnyThreadCountSpinningOrSleeping) {
  for (int64_t spin : {0, 200}) {
    Spin scope(spin);
    for (int threads : {1, 2, 3, 4}) {
      lmshrink::testing::ThreadCount count(threads);
      for (int call = 0; call < 500; ++call) {
        int64_t n = 1 + call % 37;
        std::vector<std::atomic<int>> visits(n);
        lmshrink::parallel_columns(n, 1 + call % 5, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) ++visits[i];
        });
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(visits[i].load(), 1) << "spin " << spin << ", " << threads << " threads, call " << call;
        }
      }
    }
  }
}

TEST(KernelThreadPool, SpinUntilStopsWhenDoneOrWhenTimeIsUp) {
  EXPECT_TRUE(lmshrink::spin_until([] { return true; }, 0));
  EXPECT_FALSE(lmshrink::spin_until([] { return false; }, 0));
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(lmshrink::spin_until([] { return false; }, 2000));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::microseconds(2000));
  int calls = 0;
  EXPECT_TRUE(lmshrink::spin_until([&] { return ++calls >= 3; }, 10000000));
  Spin negative(-5);
  EXPECT_EQ(lmshrink::kernel_spin_microseconds(), 0);
}

TEST(KernelThreadPool, ThreadsScopeSplitsKernelsAndLibtorchAndRestoresBoth) {
  lmshrink::testing::ThreadCount count(2);
  EXPECT_EQ(lmshrink::kernel_threads(), 2);  // libtorch's count by default
  {
    lmshrink::KernelThreadsScope scope;
    EXPECT_EQ(at::get_num_threads(), 1);
    EXPECT_EQ(lmshrink::kernel_threads(), 2);
    std::mutex mutex;
    std::set<std::thread::id> threads;  // two pieces of 64 items; each waits (up to 10 s) for the other to start, so
    std::atomic<int> started{0};        // one thread cannot take both: the caller and one worker run at once
    lmshrink::parallel_columns(128, 64, [&](int64_t, int64_t) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        threads.insert(std::this_thread::get_id());
      }
      ++started;
      lmshrink::spin_until([&] { return started.load() >= 2; }, 10000000);
    });
    EXPECT_EQ(threads.size(), 2u);
    {
      lmshrink::KernelThreadsScope nested(3);
      EXPECT_EQ(lmshrink::kernel_threads(), 3);
    }
    EXPECT_EQ(lmshrink::kernel_threads(), 2);
  }
  EXPECT_EQ(at::get_num_threads(), 2);
  EXPECT_EQ(lmshrink::kernel_threads(), 2);
}

}  // namespace
