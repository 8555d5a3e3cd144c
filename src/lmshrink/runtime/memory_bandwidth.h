// STREAM-style memory bandwidth tests, the ceilings that batch-1 decode is measured against (issue 11): decode reads
// every weight once per token, so tokens/s can never exceed bandwidth ÷ bytes per token.
//   copy: McCalpin's STREAM "Copy" kernel, b[i] = a[i], counted with STREAM's convention of 2 × array bytes moved
//     per pass (read + write). It is the ceiling the issue names, but it understates what decode can reach: the
//     write-allocate reads of b are moved and not counted, and decode hardly writes at all.
//   read: a sum over the array (64-bit integer words, four independent 256-bit accumulators with AVX2), array bytes
//     per pass: the access pattern of decode, and so its tighter ceiling.
// Float32 arrays far larger than the caches are passed over `repeats` times with the current libtorch thread count
// (kernel thread pool, thread_pool.h), after one warm-up pass; the best pass counts.
#pragma once
#include <cstdint>

namespace lmshrink {

struct BandwidthResult {
  double copy_bytes_per_second = 0.0;  // best pass
  double read_bytes_per_second = 0.0;  // best pass
  int64_t array_bytes = 0;
  int threads = 0;
};

// array_bytes >= 1 MiB; repeats >= 1. Throws lmshrink::Error otherwise.
BandwidthResult measure_memory_bandwidth(int64_t array_bytes, int repeats);

}  // namespace lmshrink
