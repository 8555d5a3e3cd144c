// measure_throughput, the copy-bandwidth test and the peak-RSS probe: their figures exist, are positive, follow
// their formulas, and bad options are refused.
#include <gtest/gtest.h>

#include "lmshrink/runtime/synthetic_formats.h"
#include "lmshrink/runtime/inference_prepare.h"
#include "lmshrink/runtime/memory_bandwidth.h"
#include "lmshrink/runtime/throughput.h"
#include "lmshrink/util/error.h"

namespace {

TEST(Throughput, MeasuresPrefillDecodeAndTheBytesEachTokenReads) {
  auto model = lmshrink::make_synthetic_from_spec("synthetic:tiny", 1);  // 2 layers, 2 KV heads of 16
  lmshrink::prepare_for_inference(*model, lmshrink::WeightStorage::kFloat32);
  lmshrink::ThroughputOptions options;
  options.prompt_tokens = 5, options.gen_tokens = 3, options.repeats = 2;
  lmshrink::ThroughputResult r = lmshrink::measure_throughput(*model, options);
  EXPECT_GT(r.prefill_seconds, 0.0);
  EXPECT_GT(r.decode_seconds, 0.0);
  EXPECT_GE(r.first_token_seconds, r.prefill_seconds);
  EXPECT_DOUBLE_EQ(r.prefill_tokens_per_second, 5 / r.prefill_seconds);
  EXPECT_DOUBLE_EQ(r.decode_tokens_per_second, 3 / r.decode_seconds);
  EXPECT_EQ(r.weight_bytes_per_token, lmshrink::model_weight_bytes_per_token(*model));
  EXPECT_EQ(r.kv_bytes_per_token, 2 * 2 * 2 * 16 * 4 * 7);  // K and V, layers, heads, head_dim, float32, context 5 + 2
  EXPECT_GT(r.peak_rss_bytes, 0);
}

TEST(Throughput, RefusesBadOptions) {
  auto model = lmshrink::make_synthetic_from_spec("synthetic:tiny", 1);  // context 256
  lmshrink::ThroughputOptions options;
  options.prompt_tokens = 250, options.gen_tokens = 7;
  EXPECT_THROW(lmshrink::measure_throughput(*model, options), lmshrink::Error);
  options.prompt_tokens = 4, options.gen_tokens = 2, options.repeats = 0;
  EXPECT_THROW(lmshrink::measure_throughput(*model, options), lmshrink::Error);
}

TEST(MemoryBandwidth, CopyAndReadTestsReportPositiveRates) {
  lmshrink::BandwidthResult r = lmshrink::measure_memory_bandwidth(8 << 20, 2);
  EXPECT_EQ(r.array_bytes, 8 << 20);
  EXPECT_GT(r.copy_bytes_per_second, 1e8);  // any machine moves more than 100 MB/s
  EXPECT_GT(r.read_bytes_per_second, 1e8);
  EXPECT_GE(r.threads, 1);
  EXPECT_THROW(lmshrink::measure_memory_bandwidth(1000, 2), lmshrink::Error);
  EXPECT_THROW(lmshrink::measure_memory_bandwidth(8 << 20, 0), lmshrink::Error);
}

TEST(PeakRss, GrowsWithTouchedMemory) {
  at::Tensor big = torch::ones({64 << 20}, torch::kFloat32);  // 256 MiB, every page written
  EXPECT_GE(lmshrink::peak_rss_bytes(), int64_t{256} << 20);
  EXPECT_EQ(big[0].item<float>(), 1.0f);
}

}  // namespace
