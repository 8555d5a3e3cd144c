// `lmshrink prune` end to end on stories260K: the pruned directory is a plain HF checkpoint that
// eval, inspect and generate read, its config and run record count layers and parameters exactly and
// hold the distance table; ReplaceMe beats dropping the same blocks (UIDL) on held-out text; every bad
// input (n >= layers, n = 0, overlapping ranges, too few calibration tokens for the d x d system, an
// unknown method) is one line and exit code 2, before any output is written.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using lmshrink::testing::CommandResult;
using lmshrink::testing::expect_bad_input;
using lmshrink::testing::ppl_of;
using lmshrink::testing::quote;
using lmshrink::testing::read_json;
using lmshrink::testing::run_lmshrink;
using lmshrink::testing::shared_path;

std::string calib_file() { return shared_path("data/tinystories/tinystories-valid-calib.txt"); }
std::string eval_text() { return shared_path("models/stories260K/eval_tinystories_valid_6stories.txt"); }

std::string prune_args(const fs::path& out, const std::string& extra, const std::string& samples = "32",
                       const std::string& seq_len = "128") {
  return "prune " + quote(lmshrink::testing::stories_bin()) + " -o " + quote(out.string()) + " --calib " +
         quote(calib_file()) + " --calib-samples " + samples + " --calib-seq-len " + seq_len + " " + extra;
}

TEST(PruneCliTest, PrunedDirectoryIsAPlainCheckpointWithAnExactRecord) {
  fs::path dir = lmshrink::testing::temp_dir("prune_ok");
  fs::path out = dir / "replaceme";
  CommandResult r = run_lmshrink(prune_args(out, "--method replaceme --blocks 2 --json " + quote((dir / "run.json").string())), "prune_ok");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stdout_text.find("angular distance"), std::string::npos) << r.stdout_text;
  nlohmann::json config = read_json(out / "config.json");
  EXPECT_EQ(config["num_hidden_layers"], 3);
  EXPECT_FALSE(config.contains("compression"));  // plain HF: nothing lmshrink-specific
  EXPECT_TRUE(fs::exists(out / "tokenizer.bin") || fs::exists(out / "tokenizer.json"));
  nlohmann::json record = read_json(out / "lmshrink_run.json");
  EXPECT_EQ(record, read_json(dir / "run.json"));
  EXPECT_EQ(record["method"], "replaceme");
  EXPECT_EQ(record["objective"], "lstsq");
  EXPECT_EQ(record["layers_before"], 5);
  EXPECT_EQ(record["layers_after"], 3);
  EXPECT_EQ(record["removed_layers"].size(), 2u);
  EXPECT_EQ(record["selection"]["table"].size(), 3u);  // windows l = 0, 1, 2 of 2 blocks
  EXPECT_EQ(record["selection"]["tokens"], "last");
  EXPECT_EQ(record["calibration"]["tokens"], 32 * 128);
  EXPECT_EQ(record["fits"].size(), 1u);
  constexpr int64_t block_params = 2 * 64 + 2 * 64 * 64 + 2 * 32 * 64 + 3 * 64 * 172;
  EXPECT_EQ(record["whole_model"]["params_before"], 260032);
  EXPECT_EQ(record["whole_model"]["params_after"], 260032 - 2 * block_params);

  CommandResult inspect = run_lmshrink("inspect " + quote(out.string()), "prune_ok_i");
  EXPECT_EQ(inspect.exit_code, 0) << inspect.stderr_text;
  EXPECT_NE(inspect.stdout_text.find(std::to_string(260032 - 2 * block_params)), std::string::npos) << inspect.stdout_text;
  EXPECT_EQ(run_lmshrink("generate " + quote(out.string()) + " --steps 20", "prune_ok_g").exit_code, 0);
  CommandResult dense = run_lmshrink("eval " + quote(lmshrink::testing::stories_bin()) + " --ppl " + quote(eval_text()), "prune_ok_e0");
  CommandResult pruned = run_lmshrink("eval " + quote(out.string()) + " --ppl " + quote(eval_text()), "prune_ok_e1");
  ASSERT_EQ(pruned.exit_code, 0) << pruned.stderr_text;
  EXPECT_GT(ppl_of(pruned), ppl_of(dense));

  // the same blocks dropped without a transform (UIDL) are worse
  std::string removed = record["removed"];
  fs::path uidl = dir / "uidl";
  ASSERT_EQ(run_lmshrink(prune_args(uidl, "--method uidl --ranges " + removed), "prune_ok_u").exit_code, 0);
  CommandResult uidl_eval = run_lmshrink("eval " + quote(uidl.string()) + " --ppl " + quote(eval_text()), "prune_ok_e2");
  EXPECT_LT(ppl_of(pruned), ppl_of(uidl_eval));
}

TEST(PruneCliTest, CosineAndShortGptRunAndRecordTheirSettings) {
  fs::path dir = lmshrink::testing::temp_dir("prune_more");
  CommandResult cosine = run_lmshrink(prune_args(dir / "cos", "--method replaceme --objective cosine --blocks 1 --epochs 2"), "prune_cos");
  ASSERT_EQ(cosine.exit_code, 0) << cosine.stderr_text;
  nlohmann::json record = read_json(dir / "cos" / "lmshrink_run.json");
  EXPECT_EQ(record["objective"], "cosine");
  EXPECT_EQ(record["fits"][0]["epoch_loss"].size(), 3u);
  CommandResult shortgpt = run_lmshrink(prune_args(dir / "sg", "--method shortgpt --blocks 2"), "prune_sg");
  ASSERT_EQ(shortgpt.exit_code, 0) << shortgpt.stderr_text;
  EXPECT_NE(shortgpt.stdout_text.find("block influence"), std::string::npos) << shortgpt.stdout_text;
  nlohmann::json sg = read_json(dir / "sg" / "lmshrink_run.json");
  EXPECT_EQ(sg["selection"]["table"].size(), 5u);
  EXPECT_EQ(sg["selection"]["tokens"], "all");
  EXPECT_EQ(sg["layers_after"], 3);
}

TEST(PruneCliTest, BadInputIsOneLineAndExitCodeTwo) {
  fs::path dir = lmshrink::testing::temp_dir("prune_bad");
  fs::path out = dir / "out";
  expect_bad_input(run_lmshrink(prune_args(out, "--method replaceme --blocks 5"), "pb1"), "--blocks 5");
  expect_bad_input(run_lmshrink(prune_args(out, "--method uidl --blocks 7"), "pb2"), "the model has 5 layers");
  expect_bad_input(run_lmshrink(prune_args(out, "--method replaceme --blocks 0"), "pb3"), "--blocks 0");
  expect_bad_input(run_lmshrink(prune_args(out, "--method replaceme --blocks 2 --num-ranges 3"), "pb4"), "overlapping");
  expect_bad_input(run_lmshrink(prune_args(out, "--method replaceme --ranges 1-2,2-3"), "pb5"), "overlap");
  CommandResult few = run_lmshrink(prune_args(out, "--method replaceme --blocks 1", "1", "32"), "pb6");
  expect_bad_input(few, "need at least 64");
  EXPECT_NE(few.stderr_text.find("32 tokens"), std::string::npos) << few.stderr_text;
  expect_bad_input(run_lmshrink(prune_args(out, "--method deep --blocks 1"), "pb7"), "--method");
  expect_bad_input(run_lmshrink(prune_args(out, "--method uidl --blocks 1 --objective cosine"), "pb8"), "--objective");
  expect_bad_input(run_lmshrink(prune_args(out, "--method replaceme --blocks 1 --distance-tokens first"), "pb9"),
                   "--distance-tokens");
  EXPECT_FALSE(fs::exists(out));
  // an existing output directory is refused without --force
  fs::create_directories(out);
  expect_bad_input(run_lmshrink(prune_args(out, "--method uidl --blocks 1"), "pb10"), out.string());
}

}  // namespace
