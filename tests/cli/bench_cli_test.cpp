// `lmshrink bench` end to end: the JSON record of a synthetic compressed model and of the real stories260K (bf16
// halves its weight bytes; --no-fuse leaves q|k|v and gate|up apart), and the bad-input contract.
#include <gtest/gtest.h>

#include "cli/cli_helpers.h"

namespace {

using lmshrink::testing::expect_bad_input;
using lmshrink::testing::quote;
using lmshrink::testing::read_json;
using lmshrink::testing::run_lmshrink;

const std::string kQuick = " --prompt-tokens 6 --gen-tokens 4 --repeats 1 --bandwidth-mib 4 --threads 1";

TEST(BenchCli, SyntheticCompressedModelWritesTheRecord) {
  auto json = lmshrink::testing::temp_dir("bench_synthetic") / "bench.json";
  auto r = run_lmshrink("bench synthetic:tiny --format cospadi --ratio 0.3" + kQuick + " --json " + quote(json.string()),
                        "bench_synthetic");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stdout_text.find("SYNTHETIC"), std::string::npos) << r.stdout_text;
  nlohmann::json j = read_json(json);
  EXPECT_EQ(j["command"], "bench");
  EXPECT_TRUE(j["synthetic_model"].get<bool>());
  EXPECT_EQ(j["format"], "cospadi");
  EXPECT_EQ(j["threads"], 1);
  EXPECT_EQ(j["fused_groups"], 2 * 2);  // q|k|v and gate|up of both blocks
  EXPECT_EQ(j["kernel_spin_us"], 200);
  EXPECT_EQ(j["prompt_tokens"], 6);
  for (const char* key : {"prefill_tokens_per_second", "decode_tokens_per_second", "time_to_first_token_seconds",
                          "copy_bandwidth_bytes_per_second", "decode_ceiling_tokens_per_second", "fraction_of_ceiling",
                          "read_bandwidth_bytes_per_second", "decode_read_ceiling_tokens_per_second",
                          "fraction_of_read_ceiling"}) {
    EXPECT_GT(j[key].get<double>(), 0.0) << key;
  }
  EXPECT_EQ(j["bytes_per_token"].get<int64_t>(), j["weight_bytes_per_token"].get<int64_t>() + j["kv_bytes_per_token"].get<int64_t>());
  EXPECT_NEAR(j["decode_ceiling_tokens_per_second"].get<double>(),
              j["copy_bandwidth_bytes_per_second"].get<double>() / j["bytes_per_token"].get<double>(), 1e-6);
  EXPECT_NEAR(j["decode_read_ceiling_tokens_per_second"].get<double>(),
              j["read_bandwidth_bytes_per_second"].get<double>() / j["bytes_per_token"].get<double>(), 1e-6);
  EXPECT_GT(j["peak_rss_bytes"].get<int64_t>(), 0);
}

TEST(BenchCli, RealModelInBfloat16ReadsHalfTheWeightBytes) {
  auto dir = lmshrink::testing::temp_dir("bench_stories");
  std::string model = quote(lmshrink::testing::stories_bin());
  auto fp32 = run_lmshrink("bench " + model + kQuick + " --json " + quote((dir / "fp32.json").string()), "bench_fp32");
  auto bf16 = run_lmshrink("bench " + model + kQuick + " --weights bf16 --no-fuse --json " +
                               quote((dir / "bf16.json").string()),
                           "bench_bf16");
  ASSERT_EQ(fp32.exit_code, 0) << fp32.stderr_text;
  ASSERT_EQ(bf16.exit_code, 0) << bf16.stderr_text;
  nlohmann::json a = read_json(dir / "fp32.json"), b = read_json(dir / "bf16.json");
  EXPECT_FALSE(a["synthetic_model"].get<bool>());
  EXPECT_EQ(a["fused_groups"], 5 * 2);
  EXPECT_EQ(b["fused_groups"], 0);  // --no-fuse
  int64_t embedding_row = 4 * 64;  // stories260K: hidden 64, the float32 row every token reads
  EXPECT_EQ(b["weight_bytes_per_token"].get<int64_t>() - embedding_row,
            (a["weight_bytes_per_token"].get<int64_t>() - embedding_row) / 2);
}

TEST(BenchCli, BadInputGetsOneLineAndExitTwo) {
  std::string model = quote(lmshrink::testing::stories_bin());
  expect_bad_input(run_lmshrink("bench " + model + " --format cospadi --ratio 0.3" + kQuick, "bench_bad1"), "synthetic");
  expect_bad_input(run_lmshrink("bench synthetic:huge" + kQuick, "bench_bad2"), "synthetic:huge");
  expect_bad_input(run_lmshrink("bench synthetic:tiny --format svd-llm --ratio 1.5" + kQuick, "bench_bad3"), "--ratio");
  expect_bad_input(run_lmshrink("bench synthetic:tiny --weights fp8" + kQuick, "bench_bad4"), "fp8");
  expect_bad_input(run_lmshrink("bench synthetic:tiny --prompt-tokens 250 --gen-tokens 10 --repeats 1 --bandwidth-mib 0",
                                "bench_bad5"),
                   "context");
  expect_bad_input(run_lmshrink("bench synthetic:tiny --kernels reference --weights bf16" + kQuick, "bench_bad6"),
                   "bf16");
  expect_bad_input(run_lmshrink("bench synthetic:tiny --spin-us -1" + kQuick, "bench_bad7"), "--spin-us");
}

}  // namespace
