// STREAM-style copy and read bandwidth (see memory_bandwidth.h).
#include "lmshrink/runtime/memory_bandwidth.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "lmshrink/runtime/packed_matrix.h"
#include "lmshrink/runtime/thread_pool.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

// Seconds of the fastest of `repeats` passes of fn, after one warm-up pass (page faults, thread pool).
double best_pass_seconds(int repeats, const std::function<void()>& pass) {
  double best = 0.0;
  for (int i = 0; i < repeats + 1; ++i) {
    auto start = std::chrono::steady_clock::now();
    pass();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (i > 0 && seconds > 0 && (best == 0.0 || seconds < best)) best = seconds;
  }
  return best;
}

// Four independent partial sums, so that one thread's pass is bound by memory and not by a chain of adds.
uint64_t sum_words_portable(const uint64_t* words, int64_t count) {
  uint64_t partial[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= count; i += 4) {
    for (int lane = 0; lane < 4; ++lane) partial[lane] += words[i + lane];
  }
  for (; i < count; ++i) partial[0] += words[i];
  return partial[0] + partial[1] + partial[2] + partial[3];
}

#if defined(__x86_64__)
// Four 256-bit accumulators (16 words per step). The single chain of adds this replaced reached 28.7 GB/s on one
// thread of the 2-core AMD EPYC where this loop and the decode kernels reach 36-39 GB/s, so one-thread decode
// measured 1.1x "the ceiling" (docs/results.md, "Seventh run").
__attribute__((target("avx2"))) uint64_t sum_words_avx2(const uint64_t* words, int64_t count) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    const auto* block = reinterpret_cast<const __m256i*>(words + i);
    acc0 = _mm256_add_epi64(acc0, _mm256_loadu_si256(block));
    acc1 = _mm256_add_epi64(acc1, _mm256_loadu_si256(block + 1));
    acc2 = _mm256_add_epi64(acc2, _mm256_loadu_si256(block + 2));
    acc3 = _mm256_add_epi64(acc3, _mm256_loadu_si256(block + 3));
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi64(_mm256_add_epi64(acc0, acc1),
                                                                          _mm256_add_epi64(acc2, acc3)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + sum_words_portable(words + i, count - i);
}
#endif

uint64_t sum_words(const uint64_t* words, int64_t count) {
#if defined(__x86_64__)
  if (use_avx2_kernels()) return sum_words_avx2(words, count);
#endif
  return sum_words_portable(words, count);
}

}  // namespace

BandwidthResult measure_memory_bandwidth(int64_t array_bytes, int repeats) {
  LMSHRINK_CHECK(array_bytes >= (int64_t{1} << 20) && repeats >= 1, "bandwidth test: arrays of at least 1 MiB and "
                 "one repeat, got ", array_bytes, " bytes and ", repeats, " repeats");
  int64_t count = array_bytes / static_cast<int64_t>(sizeof(float));
  at::Tensor source = torch::ones({count}, torch::kFloat32), target = torch::zeros({count}, torch::kFloat32);
  const float* a = source.data_ptr<float>();
  float* b = target.data_ptr<float>();
  const int64_t chunk = 1 << 16;  // floats per task: 256 KiB
  BandwidthResult result;
  result.array_bytes = count * static_cast<int64_t>(sizeof(float));
  result.threads = kernel_threads();
  double copy_seconds = best_pass_seconds(repeats, [&] {
    parallel_columns(count, chunk, [&](int64_t begin, int64_t end) {
      std::memcpy(b + begin, a + begin, static_cast<size_t>(end - begin) * sizeof(float));
    });
  });
  LMSHRINK_CHECK(target[count - 1].item<float>() == 1.0f, "bandwidth test: the copy did not complete");
  const auto* words = reinterpret_cast<const uint64_t*>(a);
  std::atomic<uint64_t> total{0};
  double read_seconds = best_pass_seconds(repeats, [&] {
    parallel_columns(count / 2, chunk / 2,
                     [&](int64_t begin, int64_t end) { total += sum_words(words + begin, end - begin); });
  });
  uint64_t one_pair = 0;  // two float32 ones as one 64-bit word
  std::memcpy(&one_pair, a, sizeof(one_pair));
  LMSHRINK_CHECK(total.load() == one_pair * static_cast<uint64_t>(count / 2) * static_cast<uint64_t>(repeats + 1),
                 "bandwidth test: the read pass did not cover the array");
  result.copy_bytes_per_second = copy_seconds > 0 ? 2.0 * result.array_bytes / copy_seconds : 0.0;
  result.read_bytes_per_second = read_seconds > 0 ? (count / 2) * 8.0 / read_seconds : 0.0;
  return result;
}

}  // namespace lmshrink
