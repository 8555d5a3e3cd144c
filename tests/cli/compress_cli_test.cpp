// `lmshrink compress` and `lmshrink export` end to end on stories260K: the compressed directory is
// read by every command, its run record adds up, the same seed gives byte-identical model files,
// the stats cache reproduces a streamed run, dense export evaluates like the compressed model, and
// every bad input (ratio, rank 0, empty or short corpus, existing output, factor shapes that
// disagree with config.json) is one line and exit code 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using lmshrink::testing::CommandResult;
using lmshrink::testing::expect_bad_input;
using lmshrink::testing::ppl_of;
using lmshrink::testing::read_json;
using lmshrink::testing::quote;
using lmshrink::testing::run_lmshrink;
using lmshrink::testing::shared_path;
using lmshrink::testing::slurp;

std::string calib_file() { return shared_path("data/tinystories/tinystories-valid-calib.txt"); }
std::string eval_text() { return shared_path("models/stories260K/eval_tinystories_valid_6stories.txt"); }

// compress stories260K into OUT with a small calibration set.
std::string compress_args(const fs::path& out, const std::string& method, const std::string& extra,
                          const std::string& samples = "16") {
  return "compress " + quote(lmshrink::testing::stories_bin()) + " -o " + quote(out.string()) + " --method " + method +
         " --calib " + quote(calib_file()) + " --calib-samples " + samples + " --calib-seq-len 128 " + extra;
}

TEST(CompressCliTest, CompressedDirectoryWorksWithEveryCommandAndItsRecordAddsUp) {
  fs::path out = lmshrink::testing::temp_dir("compress_ok") / "svdllm";
  CommandResult r = run_lmshrink(compress_args(out, "svd-llm", "--ratio 0.3"), "compress_ok");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  nlohmann::json record = read_json(out / "lmshrink_run.json");
  EXPECT_EQ(record["method"], "svd-llm");
  EXPECT_EQ(record["layers"].size(), 35u);
  int64_t before = record["compressed_linears"]["params_before"], after = record["compressed_linears"]["params_after"];
  EXPECT_EQ(before, 5 * (4 * 64 * 64 - 2 * 64 * 32 + 3 * 64 * 172));  // q, o 64x64; k, v 32x64 (GQA); MLP 172
  EXPECT_NEAR(record["compressed_linears"]["ratio"].get<double>(), 1.0 - double(after) / before, 1e-12);
  EXPECT_GE(record["compressed_linears"]["ratio"].get<double>(), 0.3);  // ranks are floored
  EXPECT_EQ(record["whole_model"]["params_before"], 260032);
  EXPECT_EQ(record["calibration"]["tokens"], 16 * 128);
  for (const char* stage : {"calibration", "decomposition", "save", "total"}) EXPECT_TRUE(record["seconds"].contains(stage));
  nlohmann::json config = read_json(out / "config.json");
  EXPECT_EQ(config["compression"]["layers"]["model.layers.4.mlp.down_proj"]["format"], "lowrank");

  CommandResult dense_eval = run_lmshrink("eval " + quote(lmshrink::testing::stories_bin()) + " --ppl " + quote(eval_text()), "compress_ok_e0");
  CommandResult eval = run_lmshrink("eval " + quote(out.string()) + " --ppl " + quote(eval_text()), "compress_ok_e1");
  ASSERT_EQ(eval.exit_code, 0) << eval.stderr_text;
  EXPECT_GT(ppl_of(eval), ppl_of(dense_eval));  // compression costs something, SVD-LLM less than plain SVD
  fs::path svd = out.parent_path() / "svd";
  ASSERT_EQ(run_lmshrink(compress_args(svd, "svd", "--ratio 0.3"), "compress_ok_svd").exit_code, 0);
  CommandResult svd_eval = run_lmshrink("eval " + quote(svd.string()) + " --ppl " + quote(eval_text()), "compress_ok_e3");
  EXPECT_LT(ppl_of(eval), ppl_of(svd_eval));
  CommandResult inspect = run_lmshrink("inspect " + quote(out.string()), "compress_ok_i");
  EXPECT_NE(inspect.stdout_text.find("lowrank"), std::string::npos) << inspect.stdout_text;
  EXPECT_EQ(run_lmshrink("generate " + quote(out.string()) + " --steps 20", "compress_ok_g").exit_code, 0);

  fs::path dense = out.parent_path() / "dense";
  ASSERT_EQ(run_lmshrink("export " + quote(out.string()) + " --dense " + quote(dense.string()), "compress_ok_x").exit_code, 0);
  EXPECT_FALSE(read_json(dense / "config.json").contains("compression"));
  CommandResult dense_out = run_lmshrink("eval " + quote(dense.string()) + " --ppl " + quote(eval_text()), "compress_ok_e2");
  EXPECT_NEAR(ppl_of(dense_out), ppl_of(eval), 1e-3 * ppl_of(eval));
}

TEST(CompressCliTest, HuggingFaceSourceKeepsItsTokenizerJson) {
  fs::path dir = lmshrink::testing::temp_dir("compress_hf");
  ASSERT_EQ(run_lmshrink("convert " + quote(lmshrink::testing::stories_bin()) + " -o " + quote((dir / "hf").string()), "hf_a").exit_code, 0);
  CommandResult r = run_lmshrink("compress " + quote((dir / "hf").string()) + " -o " + quote((dir / "svd").string()) +
                                     " --method svd --ratio 0.2 --targets mlp", "hf_b");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_TRUE(fs::exists(dir / "svd" / "tokenizer.json"));
  EXPECT_TRUE(fs::exists(dir / "svd" / "tokenizer_config.json"));
  EXPECT_EQ(read_json(dir / "svd" / "config.json")["compression"]["layers"].size(), 15u);  // 3 MLP x 5 blocks
  CommandResult ids = run_lmshrink("tokenize " + quote((dir / "svd").string()) + " --text 'Once upon a time' --bos", "hf_c");
  EXPECT_EQ(ids.stdout_text, "1 403 407 261 378\n");
}

TEST(CompressCliTest, SameSeedGivesByteIdenticalFilesAndTheStatsCacheReproducesThem) {
  fs::path dir = lmshrink::testing::temp_dir("compress_seed");
  std::string cache = "--stats-cache " + quote((dir / "cache").string());
  ASSERT_EQ(run_lmshrink(compress_args(dir / "a", "asvd", "--ratio 0.4 --seed 3"), "seed_a").exit_code, 0);
  ASSERT_EQ(run_lmshrink(compress_args(dir / "b", "asvd", "--ratio 0.4 --seed 3"), "seed_b").exit_code, 0);
  ASSERT_EQ(run_lmshrink(compress_args(dir / "c", "asvd", "--ratio 0.4 --seed 3 " + cache), "seed_c").exit_code, 0);
  CommandResult hit = run_lmshrink(compress_args(dir / "d", "asvd", "--ratio 0.4 --seed 3 " + cache), "seed_d");
  ASSERT_EQ(hit.exit_code, 0) << hit.stderr_text;
  EXPECT_NE(hit.stdout_text.find("stats cache hit"), std::string::npos) << hit.stdout_text;
  ASSERT_EQ(run_lmshrink(compress_args(dir / "e", "asvd", "--ratio 0.4 --seed 4"), "seed_e").exit_code, 0);
  std::string a = slurp(dir / "a" / "model.safetensors");
  EXPECT_EQ(a, slurp(dir / "b" / "model.safetensors"));
  EXPECT_EQ(slurp(dir / "a" / "config.json"), slurp(dir / "b" / "config.json"));
  EXPECT_EQ(a, slurp(dir / "d" / "model.safetensors"));  // from the cache
  EXPECT_NE(a, slurp(dir / "e" / "model.safetensors"));  // another seed, other calibration samples
}

TEST(CompressCliTest, SequentialModeRunsAndDiffersFromOneShot) {
  fs::path dir = lmshrink::testing::temp_dir("compress_seq");
  ASSERT_EQ(run_lmshrink(compress_args(dir / "one", "svd-llm", "--ratio 0.3"), "seq_a").exit_code, 0);
  CommandResult seq = run_lmshrink(compress_args(dir / "seq", "svd-llm", "--ratio 0.3 --mode sequential"), "seq_b");
  ASSERT_EQ(seq.exit_code, 0) << seq.stderr_text;
  EXPECT_EQ(read_json(dir / "seq" / "lmshrink_run.json")["mode"], "sequential");
  EXPECT_NE(slurp(dir / "one" / "model.safetensors"), slurp(dir / "seq" / "model.safetensors"));
  expect_bad_input(run_lmshrink(compress_args(dir / "x", "svd-llm", "--ratio 0.3 --mode sequential --stats-cache " +
                                              quote((dir / "cache").string())), "seq_c"),
                   "--stats-cache");
}

TEST(CompressCliTest, BadRatiosCorporaAndOutputsExitTwo) {
  fs::path dir = lmshrink::testing::temp_dir("compress_bad");
  expect_bad_input(run_lmshrink(compress_args(dir / "o", "svd", "--ratio 0"), "bad_r0"), "--ratio");
  expect_bad_input(run_lmshrink(compress_args(dir / "o", "svd", "--ratio 1"), "bad_r1"), "--ratio");
  expect_bad_input(run_lmshrink(compress_args(dir / "o", "svd", "--ratio 0.999"), "bad_rank"), "rank 0");
  expect_bad_input(run_lmshrink(compress_args(dir / "o", "svd-9", "--ratio 0.3"), "bad_m"), "--method");
  expect_bad_input(run_lmshrink(compress_args(dir / "o", "svd", "--ratio 0.3 --targets q,x"), "bad_t"), "--targets");
  std::string empty = lmshrink::testing::write_file("compress_empty", "empty.txt", "\n\n");
  expect_bad_input(run_lmshrink("compress " + quote(lmshrink::testing::stories_bin()) + " -o " + quote((dir / "o").string()) +
                                    " --method svd-llm --ratio 0.3 --calib " + quote(empty), "bad_empty"),
                   "empty.txt");
  expect_bad_input(run_lmshrink(compress_args(dir / "o", "svd-llm", "--ratio 0.3", "100000"), "bad_short"),
                   "blocks");
  EXPECT_FALSE(fs::exists(dir / "o"));  // no failure left a directory behind
  fs::create_directories(dir / "taken");
  expect_bad_input(run_lmshrink(compress_args(dir / "taken", "svd", "--ratio 0.3"), "bad_exists"), "exists");
  EXPECT_TRUE(fs::is_empty(dir / "taken"));
  EXPECT_EQ(run_lmshrink(compress_args(dir / "taken", "svd", "--ratio 0.3 --force"), "bad_force").exit_code, 0);
}

TEST(CompressCliTest, FactorShapesThatDisagreeWithConfigExitTwo) {
  fs::path dir = lmshrink::testing::temp_dir("compress_shape");
  ASSERT_EQ(run_lmshrink(compress_args(dir / "m", "svd", "--ratio 0.3"), "shape_a").exit_code, 0);
  nlohmann::json config = read_json(dir / "m" / "config.json");
  auto& entry = config["compression"]["layers"]["model.layers.2.self_attn.q_proj"];
  entry["rank"] = entry["rank"].get<int64_t>() + 1;
  std::ofstream(dir / "m" / "config.json") << config.dump(2);
  expect_bad_input(run_lmshrink("eval " + quote((dir / "m").string()) + " --ppl " + quote(eval_text()), "shape_b"),
                   "model.layers.2.self_attn.q_proj.a: expected shape");
  entry["rank"] = entry["rank"].get<int64_t>() - 1;
  entry["in_features"] = 65;
  std::ofstream(dir / "m" / "config.json") << config.dump(2);
  expect_bad_input(run_lmshrink("inspect " + quote((dir / "m").string()), "shape_c"), "disagrees");
  entry["in_features"] = 64;
  entry["format"] = "lowrank-int3";
  std::ofstream(dir / "m" / "config.json") << config.dump(2);
  expect_bad_input(run_lmshrink("inspect " + quote((dir / "m").string()), "shape_d"), "unknown format");
  entry["format"] = "lowrank";
  config["compression"]["layers"]["model.layers.9.mlp.up_proj"] = entry;
  std::ofstream(dir / "m" / "config.json") << config.dump(2);
  expect_bad_input(run_lmshrink("inspect " + quote((dir / "m").string()), "shape_e"), "names no linear layer");
}

}  // namespace
