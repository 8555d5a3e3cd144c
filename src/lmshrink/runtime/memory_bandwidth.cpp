// STREAM-style copy and read bandwidth (see memory_bandwidth.h).
#include "lmshrink/runtime/memory_bandwidth.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>

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

uint64_t sum_words(const uint64_t* words, int64_t count) {
  uint64_t sum = 0;
  for (int64_t i = 0; i < count; ++i) sum += words[i];
  return sum;
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
