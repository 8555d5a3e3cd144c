// A STREAM-style memory bandwidth test (McCalpin's STREAM "Copy" kernel, b[i] = a[i]), the ceiling that batch-1
// decode is measured against (issue 11): decode reads every weight once per token, so tokens/s can never exceed
// bandwidth ÷ bytes per token. Two float32 arrays far larger than the caches are copied `repeats` times with the
// current libtorch thread count, and the best pass counts, with STREAM's convention of 2 × array bytes moved per pass
// (read + write).
#pragma once
#include <cstdint>

namespace lmshrink {

struct BandwidthResult {
  double copy_bytes_per_second = 0.0;  // best pass
  int64_t array_bytes = 0;
  int threads = 0;
};

// array_bytes >= 1 MiB; repeats >= 1. Throws lmshrink::Error otherwise.
BandwidthResult measure_copy_bandwidth(int64_t array_bytes, int repeats);

}  // namespace lmshrink
