// `lmshrink eval --tasks` and `--protocol wikitext-doc` end to end on stories260K, the results JSON,
// `lmshrink report` on it, the fast kernels against the libtorch layers, and the bad-input contract (exit 2, one line
// naming the problem).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "cli/cli_helpers.h"

namespace lmshrink::testing {
namespace {

TEST(EvalCli, TasksWriteAResultsJsonWithEveryMetric) {
  auto dir = temp_dir("eval_cli_tasks");
  std::string json = (dir / "eval.json").string();
  CommandResult r = run_lmshrink("eval " + quote(stories_bin()) + " --tasks copa,winogrande,lambada_openai,mmlu --limit 6 "
                                 "--batch-size 8 --data " + quote(shared_path("data")) + " --json " + quote(json), "eval_tasks");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  nlohmann::json record = read_json(json);
  EXPECT_EQ(record["command"], "eval");
  EXPECT_EQ(record["model_hash"].get<std::string>().size(), 16u);
  std::map<std::string, int> metrics;
  for (const auto& entry : record["results"]) {
    metrics[entry["task"].get<std::string>() + ":" + entry["metric"].get<std::string>()] = entry["n"];
    EXPECT_GE(entry["value"].get<double>(), 0.0);
    EXPECT_TRUE(entry.contains("stderr") && entry.contains("protocol"));
  }
  EXPECT_EQ(metrics["copa:acc"], 6);
  EXPECT_EQ(metrics["winogrande:acc"], 6);
  EXPECT_EQ(metrics["lambada_openai:perplexity"], 6);
  EXPECT_EQ(metrics["mmlu:acc"], 6);
  EXPECT_EQ(metrics.count("copa:acc_norm"), 0u);
  EXPECT_EQ(record["tasks"]["mmlu"]["num_fewshot"], 0);

  std::string html = (dir / "report.html").string();
  CommandResult report = run_lmshrink("report " + quote(json) + " -o " + quote(html), "eval_report");
  ASSERT_EQ(report.exit_code, 0) << report.stderr_text;
  EXPECT_NE(slurp(dir / "report.md").find("copa acc"), std::string::npos);
}

TEST(EvalCli, WikitextDocumentPerplexity) {
  CommandResult r = run_lmshrink("eval " + quote(stories_bin()) + " --ppl " + quote(shared_path("data/wikitext2/wiki.test.raw")) +
                                 " --protocol wikitext-doc --limit 1 --batch-size 8", "eval_wikitext");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stdout_text.find("word_perplexity"), std::string::npos) << r.stdout_text;
  EXPECT_NE(r.stdout_text.find("1 documents"), std::string::npos) << r.stdout_text;
}

// The fast kernels (default) and the libtorch layers score the same: perplexity and task log-likelihoods agree to
// float32 rounding, and the record says which ran.
TEST(EvalCli, KernelsAndReferenceLayersAgree) {
  auto dir = temp_dir("eval_cli_kernels");
  std::string common = "eval " + quote(stories_bin()) + " --ppl " +
                       quote(shared_path("models/stories260K/eval_tinystories_valid_6stories.txt")) +
                       " --tasks lambada_openai,copa --limit 8 --data " + quote(shared_path("data"));
  CommandResult fast = run_lmshrink(common + " --json " + quote((dir / "fast.json").string()), "eval_fast");
  CommandResult reference = run_lmshrink(common + " --kernels reference --json " + quote((dir / "ref.json").string()),
                                         "eval_ref");
  ASSERT_EQ(fast.exit_code, 0) << fast.stderr_text;
  ASSERT_EQ(reference.exit_code, 0) << reference.stderr_text;
  nlohmann::json a = read_json(dir / "fast.json"), b = read_json(dir / "ref.json");
  EXPECT_EQ(a["kernels"], "fast");
  EXPECT_EQ(a["weights"], "fp32");
  EXPECT_EQ(b["weights"], "reference");
  ASSERT_EQ(a["results"].size(), b["results"].size());
  for (size_t i = 0; i < a["results"].size(); ++i) {
    double x = a["results"][i]["value"], y = b["results"][i]["value"];
    EXPECT_NEAR(x, y, 1e-4 * std::max(1.0, std::abs(y))) << a["results"][i]["task"] << " " << a["results"][i]["metric"];
  }
  expect_bad_input(run_lmshrink(common + " --kernels reference --weights bf16", "eval_bad_weights"),
                   "--weights bf16 needs --kernels fast");
  expect_bad_input(run_lmshrink(common + " --kernels gpu", "eval_bad_kernels"), "--kernels must be fast or reference");
}

TEST(EvalCli, BadInputIsOneLineAndExitCode2) {
  std::string model = quote(stories_bin());
  expect_bad_input(run_lmshrink("eval " + model + " --tasks piqa,nosuchtask --data " + quote(shared_path("data")), "bad_task"),
                   "unknown task 'nosuchtask'; known tasks: piqa, hellaswag");
  expect_bad_input(run_lmshrink("eval " + model + " --tasks copa --limit 0 --data " + quote(shared_path("data")), "bad_limit"),
                   "--limit: must be a number >= 1, got 0");
  expect_bad_input(run_lmshrink("eval " + model, "bad_nothing"), "--ppl FILE and/or --tasks");
  auto data = temp_dir("eval_cli_bad_data");
  std::filesystem::create_directories(data / "extra");
  std::ofstream(data / "extra/copa.jsonl") << "{\"query\": \"A, because\", \"choices\": [\"x\", \"y\"], \"gold\": 0}\n{broken\n";
  expect_bad_input(run_lmshrink("eval " + model + " --tasks copa --data " + quote(data.string()), "bad_record"),
                   "copa.jsonl:2");
  expect_bad_input(run_lmshrink("report " + quote(data.string()) + " -o " + quote((data / "r.html").string()), "bad_report"),
                   "no lmshrink run or eval records");
}

}  // namespace
}  // namespace lmshrink::testing
