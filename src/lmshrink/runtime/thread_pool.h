// parallel_columns: runs fn(begin, end) over [0, n) split into contiguous pieces that the caller and a persistent
// pool of worker threads take in turn (issue 11's kernels; pieces taken from a counter since issue 22).
// Why not at::parallel_for: with libtorch's OpenMP backend it is an inline `#pragma omp parallel` that compiles to a
// serial loop in translation units built without -fopenmp, as lmshrink's are (measured: one busy thread in `top`
// while a 2-thread bench ran). Each output is computed by exactly one chunk in a fixed order, so the thread count
// never changes the result.
// Between calls the threads spin for a short while (kernel_spin_microseconds(), default 200) before they sleep on a
// condition variable: decode makes a dispatch every few tens to hundreds of microseconds, and waking a sleeping
// thread costs tens of microseconds on a virtual machine (docs/results.md, "Fourth run"); a bounded spin keeps the
// waiting cheap without holding a core when the kernels are idle (libtorch's OpenMP spin starved OpenBLAS).
// KernelThreadsScope keeps libtorch at one intra-op thread while the kernels run: the libtorch operations between
// kernel calls (norms, RoPE, attention, sampling) otherwise open OpenMP regions whose team threads spin afterwards
// (libgomp reads OMP_WAIT_POLICY before main, so it cannot be set from here) and take the cores the kernel pool
// needs (docs/results.md, "Fifth run").
#pragma once
#include <ATen/Parallel.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lmshrink {

// How long the kernel threads spin before sleeping (0: sleep at once). Set before or between kernel calls.
void set_kernel_spin_microseconds(int64_t microseconds);
int64_t kernel_spin_microseconds();

// The kernel pool's thread count; 0 (the default) means libtorch's, at::get_num_threads().
void set_kernel_threads(int threads);
int kernel_threads();

// While alive: the kernels use `threads` (libtorch's count when 0) and libtorch one intra-op thread; restores both.
class KernelThreadsScope {
 public:
  explicit KernelThreadsScope(int threads = 0);
  ~KernelThreadsScope();
  KernelThreadsScope(const KernelThreadsScope&) = delete;
  KernelThreadsScope& operator=(const KernelThreadsScope&) = delete;

 private:
  int torch_threads_, kernel_threads_;
};

// Spins (with a pause hint) until done() or `microseconds` have passed; returns done().
bool spin_until(const std::function<bool()>& done, int64_t microseconds);

class KernelThreadPool {
 public:
  static KernelThreadPool& instance() {
    static KernelThreadPool pool;
    return pool;
  }

  // Runs chunks 1..chunks-1 on workers and chunk 0 here; returns when all are done. Not reentrant.
  void run(int chunks, const std::function<void(int)>& chunk_fn) {
    std::lock_guard<std::mutex> one_call(call_mutex_);
    ensure_workers(chunks - 1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &chunk_fn;
      job_chunks_ = chunks;
      pending_ = chunks - 1;
      ++generation_;
    }
    wake_.notify_all();
    chunk_fn(0);
    if (!spin_until([&] { return pending_.load() == 0; }, kernel_spin_microseconds())) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return pending_.load() == 0; });
    }
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = nullptr;
  }

  ~KernelThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

 private:
  void ensure_workers(int needed) {
    while (static_cast<int>(workers_.size()) < needed) {
      int index = static_cast<int>(workers_.size()) + 1;  // the chunk this worker runs
      std::lock_guard<std::mutex> lock(mutex_);
      workers_.emplace_back([this, index, seen = generation_.load()]() mutable { work(index, seen); });
    }
  }

  void work(int index, uint64_t seen) {
    while (true) {
      spin_until([&] { return stopping_.load() || generation_.load() != seen; }, kernel_spin_microseconds());
      const std::function<void(int)>* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_.load() || generation_.load() != seen; });
        if (stopping_) return;
        seen = generation_;
        if (index >= job_chunks_) continue;
        job = job_;
      }
      (*job)(index);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  // generation_, pending_ and stopping_ change under mutex_ (so no wake-up is lost) and are atomic so that the
  // spinning threads can read them without it.
  std::mutex call_mutex_, mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int)>* job_ = nullptr;
  int job_chunks_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
};

// fn(begin, end) over [0, n) in pieces of at least min_chunk items, on at most kernel_threads() threads that take the
// next piece from a shared counter until none is left (up to kPiecesPerThread pieces per thread): a thread that is
// slowed (a busy or descheduled virtual CPU) does less of the work instead of holding every other thread at the end.
// Each item is still computed by exactly one call of fn, so the split never changes the result.
constexpr int64_t kPiecesPerThread = 8;

inline void parallel_columns(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int64_t most_pieces = (n + min_chunk - 1) / std::max<int64_t>(1, min_chunk);
  int64_t threads = std::min<int64_t>(kernel_threads(), most_pieces);
  if (threads <= 1) return fn(0, n);
  int64_t pieces = std::min(most_pieces, threads * kPiecesPerThread);
  int64_t size = (n + pieces - 1) / pieces;
  std::atomic<int64_t> next_piece{0};
  KernelThreadPool::instance().run(static_cast<int>(threads), [&](int) {
    for (int64_t piece = next_piece++; piece < pieces; piece = next_piece++) {
      int64_t begin = piece * size, end = std::min(n, begin + size);
      if (begin < end) fn(begin, end);
    }
  });
}

}  // namespace lmshrink
