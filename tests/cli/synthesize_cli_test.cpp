// lmshrink synthesize and the checkpoint flags of the writing commands (issue 20): a sharded bf16 checkpoint labelled
// synthetic that compress turns into a smaller bf16 one, and bad --dtype / --shard-size / --shape values as one-line
// errors with exit code 2 that leave no output behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli/cli_helpers.h"
#include "lmshrink/io/hf_model.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using lmshrink::testing::CommandResult;
using lmshrink::testing::quote;
using lmshrink::testing::run_lmshrink;

const char* kTinyShape = "--shape custom --hidden 64 --layers 3 --heads 4 --kv-heads 2 --mlp 160 --vocab 512";

TEST(SynthesizeCliTest, ShardedBf16CheckpointLabelledSyntheticCompressesToSmallerBf16) {
  fs::path dir = lmshrink::testing::temp_dir("synth");
  std::string model = (dir / "model").string();
  CommandResult made = run_lmshrink(std::string("synthesize ") + kTinyShape + " --shard-size 40kB -o " + quote(model), "synth_make");
  ASSERT_EQ(made.exit_code, 0) << made.stderr_text;
  EXPECT_NE(made.stdout_text.find("SYNTHETIC"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "model" / "model.safetensors.index.json"));
  nlohmann::json config = lmshrink::testing::read_json(dir / "model" / "config.json");
  EXPECT_EQ(config["lmshrink_synthetic"], true);
  EXPECT_EQ(config["torch_dtype"], "bfloat16");
  auto loaded = lmshrink::load_hf_model(model);
  EXPECT_EQ(loaded->config().source_format, "synthetic");
  EXPECT_EQ(loaded->embed_tokens().scalar_type(), torch::kBFloat16);
  fs::copy_file(lmshrink::testing::stories_tok(), dir / "model" / "tok512.bin");

  // bf16 weights run on every path: the fast kernels (generate, packed in bf16: --weights auto on a bfloat16
  // checkpoint) and the reference forward (eval); the values are the same, so greedy decoding picks the same tokens.
  std::string json_fast = (dir / "fast.json").string(), json_ref = (dir / "ref.json").string();
  CommandResult generated = run_lmshrink("generate " + quote(model) + " --prompt Once --max-tokens 4 --json " + quote(json_fast),
                                         "synth_generate");
  EXPECT_EQ(generated.exit_code, 0) << generated.stderr_text;
  CommandResult reference = run_lmshrink("generate " + quote(model) + " --prompt Once --max-tokens 4 --kernels reference "
                                         "--json " + quote(json_ref), "synth_generate_ref");
  EXPECT_EQ(reference.exit_code, 0) << reference.stderr_text;
  nlohmann::json fast_record = lmshrink::testing::read_json(json_fast);
  EXPECT_EQ(fast_record["weights"], "bf16");
  EXPECT_EQ(fast_record["tokens"], lmshrink::testing::read_json(json_ref)["tokens"]);
  lmshrink::testing::expect_bad_input(run_lmshrink("generate " + quote(model) + " --weights fp16", "synth_generate_bad"),
                                      "--weights must be auto, fp32 or bf16");
  std::string out = (dir / "small").string();
  CommandResult compressed = run_lmshrink("compress " + quote(model) + " -o " + quote(out) +
                                              " --method svd --ratio 0.3 --json " + quote((dir / "record.json").string()),
                                          "synth_compress");
  ASSERT_EQ(compressed.exit_code, 0) << compressed.stderr_text;
  nlohmann::json record = lmshrink::testing::read_json(dir / "record.json");
  EXPECT_EQ(record["dtype"], "bfloat16");
  EXPECT_EQ(record["synthetic_model"], true);
  EXPECT_LT(record["files"]["output_bytes"].get<double>(), record["files"]["input_bytes"].get<double>() * 0.9);  // float32 would be ~2x
  EXPECT_GT(record["memory"]["peak_rss_bytes"].get<double>(), 0);
  EXPECT_EQ(lmshrink::testing::read_json(dir / "small" / "config.json")["torch_dtype"], "bfloat16");

  CommandResult f32 = run_lmshrink("compress " + quote(model) + " -o " + quote((dir / "f32").string()) +
                                       " --method svd --ratio 0.3 --dtype f32",
                                   "synth_f32");
  ASSERT_EQ(f32.exit_code, 0) << f32.stderr_text;
  EXPECT_EQ(lmshrink::testing::read_json(dir / "f32" / "config.json")["torch_dtype"], "float32");
}

TEST(SynthesizeCliTest, BadCheckpointFlagsAreOneLineErrorsAndWriteNothing) {
  fs::path dir = lmshrink::testing::temp_dir("synth_bad");
  std::string out = quote((dir / "out").string());
  lmshrink::testing::expect_bad_input(run_lmshrink(std::string("synthesize ") + kTinyShape + " --dtype int4 -o " + out, "sb1"),
                                      "--dtype");
  lmshrink::testing::expect_bad_input(
      run_lmshrink(std::string("synthesize ") + kTinyShape + " --shard-size 0 -o " + out, "sb2"), "--shard-size");
  lmshrink::testing::expect_bad_input(run_lmshrink("synthesize --shape llama-9b -o " + out, "sb3"), "--shape");
  lmshrink::testing::expect_bad_input(run_lmshrink("synthesize --shape custom --hidden 64 -o " + out, "sb4"), "--layers");
  lmshrink::testing::expect_bad_input(
      run_lmshrink(std::string("synthesize ") + kTinyShape + " --heads 5 -o " + out, "sb5"), "--heads");
  std::string stories = quote(lmshrink::testing::stories_bin());
  lmshrink::testing::expect_bad_input(
      run_lmshrink("compress " + stories + " -o " + out + " --method svd --ratio 0.3 --dtype q8", "sb6"), "--dtype");
  lmshrink::testing::expect_bad_input(
      run_lmshrink("compress " + stories + " -o " + out + " --method svd --ratio 0.3 --shard-size 5XB", "sb7"), "--shard-size");
  lmshrink::testing::expect_bad_input(run_lmshrink("convert " + stories + " -o " + out + " --shard-size 1.5GB", "sb8"), "--shard-size");
  EXPECT_FALSE(fs::exists(dir / "out"));
  for (const auto& entry : fs::directory_iterator(dir)) ADD_FAILURE() << "left behind: " << entry.path();
}

}  // namespace
