// STREAM-style copy bandwidth (see memory_bandwidth.h).
#include "lmshrink/runtime/memory_bandwidth.h"


#include <chrono>
#include <cstring>

#include "lmshrink/runtime/thread_pool.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

BandwidthResult measure_copy_bandwidth(int64_t array_bytes, int repeats) {
  LMSHRINK_CHECK(array_bytes >= (int64_t{1} << 20) && repeats >= 1, "bandwidth test: arrays of at least 1 MiB and "
                 "one repeat, got ", array_bytes, " bytes and ", repeats, " repeats");
  int64_t count = array_bytes / static_cast<int64_t>(sizeof(float));
  at::Tensor source = torch::ones({count}, torch::kFloat32), target = torch::zeros({count}, torch::kFloat32);
  const float* a = source.data_ptr<float>();
  float* b = target.data_ptr<float>();
  const int64_t chunk = 1 << 16;  // floats per task: 256 KiB
  BandwidthResult result;
  result.array_bytes = count * static_cast<int64_t>(sizeof(float));
  result.threads = at::get_num_threads();
  for (int pass = 0; pass < repeats + 1; ++pass) {  // pass 0 warms up (page faults, thread pool)
    auto start = std::chrono::steady_clock::now();
    parallel_columns(count, chunk, [&](int64_t begin, int64_t end) {
      std::memcpy(b + begin, a + begin, static_cast<size_t>(end - begin) * sizeof(float));
    });
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (pass > 0 && seconds > 0) {
      result.copy_bytes_per_second = std::max(result.copy_bytes_per_second, 2.0 * result.array_bytes / seconds);
    }
  }
  LMSHRINK_CHECK(target[count - 1].item<float>() == 1.0f, "bandwidth test: the copy did not complete");
  return result;
}

}  // namespace lmshrink
