// `lmshrink compress --method masa` end to end on stories260K: the record states that the ratio refers to the
// attention projections and adds up (atoms counted once per group), the saved model evaluates and exports like the
// in-memory one, and bad input (S > L, S = 0, a ratio that leaves no atom, MLP targets) is one line and exit code 2.
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

std::string masa_args(const fs::path& out, const std::string& extra) {
  return "compress " + quote(lmshrink::testing::stories_bin()) + " -o " + quote(out.string()) + " --method masa --calib " +
         quote(shared_path("data/tinystories/tinystories-valid-calib.txt")) + " --calib-samples 16 --calib-seq-len 128 " + extra;
}

TEST(MasaCliTest, RecordCountsAttentionAndTheModelEvaluates) {
  fs::path out = lmshrink::testing::temp_dir("masa_cli_ok") / "masa";
  CommandResult r = run_lmshrink(masa_args(out, "--ratio 0.3 --masa-residual-rank auto --masa-groups 2"), "masa_cli_ok");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stdout_text.find("the ratio refers to the 20 attention projections"), std::string::npos) << r.stdout_text;
  nlohmann::json record = read_json(out / "lmshrink_run.json");
  EXPECT_EQ(record["targets"], nlohmann::json({"q_proj", "k_proj", "v_proj", "o_proj"}));
  int64_t before = record["compressed_linears"]["params_before"], after = record["compressed_linears"]["params_after"];
  EXPECT_EQ(before, 5 * (2 * 64 * 64 + 2 * 32 * 64));
  EXPECT_LE(after, 0.7 * before);
  EXPECT_EQ(record["whole_model"]["params_before"].get<int64_t>() - record["whole_model"]["params_after"].get<int64_t>(),
            before - after);  // only attention changed
  EXPECT_EQ(record["masa"]["groups"].size(), 8u);  // 4 projections x 2 groups
  EXPECT_EQ(record["masa"]["logit_lens_drift"].size(), 4u);
  EXPECT_NE(record["masa"]["ratio_refers_to"].get<std::string>().find("attention"), std::string::npos);

  std::string text = shared_path("models/stories260K/eval_tinystories_valid_6stories.txt");
  CommandResult eval = run_lmshrink("eval " + quote(out.string()) + " --ppl " + quote(text), "masa_cli_e");
  ASSERT_EQ(eval.exit_code, 0) << eval.stderr_text;
  fs::path dense = out.parent_path() / "dense";
  ASSERT_EQ(run_lmshrink("export " + quote(out.string()) + " --dense " + quote(dense.string()), "masa_cli_x").exit_code, 0);
  CommandResult dense_eval = run_lmshrink("eval " + quote(dense.string()) + " --ppl " + quote(text), "masa_cli_de");
  EXPECT_NEAR(ppl_of(eval), ppl_of(dense_eval), 1e-3 * ppl_of(eval));
}

TEST(MasaCliTest, BadInputIsOneLineAndExitCode2) {
  fs::path dir = lmshrink::testing::temp_dir("masa_cli_bad");
  expect_bad_input(run_lmshrink(masa_args(dir / "a", "--masa-atoms 6"), "masa_bad_a"), "exceeds the 5 layers");
  expect_bad_input(run_lmshrink(masa_args(dir / "b", "--masa-atoms 0"), "masa_bad_b"), "S = 0");
  expect_bad_input(run_lmshrink(masa_args(dir / "c", "--ratio 0.9"), "masa_bad_c"), "leaves no atom (S = 0)");
  expect_bad_input(run_lmshrink(masa_args(dir / "d", "--ratio 0.3 --targets mlp"), "masa_bad_d"), "attention");
  expect_bad_input(run_lmshrink(masa_args(dir / "e", "--ratio 0.3 --masa-groups 3"), "masa_bad_e"), "--masa-groups 3");
  expect_bad_input(run_lmshrink(masa_args(dir / "f", "--ratio 0.3 --masa-atoms 2"), "masa_bad_f"), "replaces --ratio");
  expect_bad_input(run_lmshrink(masa_args(dir / "g", "--ratio 0.3 --groups 2"), "masa_bad_g"), "--masa-groups");
  EXPECT_FALSE(fs::exists(dir / "a"));
}

}  // namespace
