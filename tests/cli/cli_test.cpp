// The lmshrink binary end to end: each kind of bad input gives one line on stderr naming the
// file or flag, and exit code 2; the good paths print and write their JSON records.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_helpers.h"

namespace {

using lmshrink::testing::CommandResult;
using lmshrink::testing::run_lmshrink;
using lmshrink::testing::shared_path;

using lmshrink::testing::expect_bad_input;
using lmshrink::testing::quote;
using lmshrink::testing::write_file;

std::string eval_args(const std::string& model, const std::string& text, const std::string& extra) {
  return "eval " + quote(model) + " --tokenizer " + quote(lmshrink::testing::stories_tok()) + " --ppl " + quote(text) +
         " " + extra;
}

std::string eval_text() { return shared_path("models/stories260K/eval_tinystories_valid_6stories.txt"); }

TEST(CliTest, TruncatedCheckpointExitsTwo) {
  std::string bytes = lmshrink::testing::slurp(lmshrink::testing::stories_bin());
  std::string path = write_file("trunc", "model.bin", bytes.substr(0, bytes.size() / 2));
  expect_bad_input(run_lmshrink(eval_args(path, eval_text(), ""), "trunc"), "model.bin");
}

TEST(CliTest, OversizedCheckpointExitsTwo) {
  std::string bytes = lmshrink::testing::slurp(lmshrink::testing::stories_bin()) + "junk";
  std::string path = write_file("oversize", "model.bin", bytes);
  expect_bad_input(run_lmshrink("inspect " + quote(path), "oversize"), "trailing data");
}

TEST(CliTest, HeaderMismatchExitsTwo) {
  std::string bytes = lmshrink::testing::slurp(lmshrink::testing::stories_bin());
  int32_t vocab = 1000;
  bytes.replace(20, 4, reinterpret_cast<const char*>(&vocab), 4);
  std::string path = write_file("header", "model.bin", bytes);
  expect_bad_input(run_lmshrink("inspect " + quote(path), "header"), "does not match its header");
}

TEST(CliTest, WrongTokenizerForModelExitsTwo) {
  std::string llama2_tokenizer = shared_path("tokenizers/llama2-sentencepiece/tokenizer.bin");
  CommandResult r = run_lmshrink("generate " + quote(lmshrink::testing::stories_bin()) + " --tokenizer " +
                                     quote(llama2_tokenizer) + " --max-tokens 4", "wrongtok");
  expect_bad_input(r, "32000 tokens but the model");
}

TEST(CliTest, EmptyTextFileExitsTwo) {
  std::string empty = write_file("empty", "empty.txt", "");
  expect_bad_input(run_lmshrink(eval_args(lmshrink::testing::stories_bin(), empty, ""), "empty"), "file is empty");
}

TEST(CliTest, SequenceLengthZeroOrAboveContextExitsTwo) {
  expect_bad_input(run_lmshrink(eval_args(lmshrink::testing::stories_bin(), eval_text(), "--seq-len 0"), "seq0"),
                   "--seq-len");
  expect_bad_input(run_lmshrink(eval_args(lmshrink::testing::stories_bin(), eval_text(), "--seq-len 513"), "seq513"),
                   "exceeds the context");
}

TEST(CliTest, UnknownFlagAndUnknownProtocolExitTwo) {
  expect_bad_input(run_lmshrink("inspect " + quote(lmshrink::testing::stories_bin()) + " --frobnicate", "flag"),
                   "--frobnicate");
  expect_bad_input(run_lmshrink(eval_args(lmshrink::testing::stories_bin(), eval_text(), "--protocol wiki"), "proto"),
                   "--protocol");
  expect_bad_input(run_lmshrink("inspect /nonexistent/model.bin", "missing"), "/nonexistent/model.bin");
}

TEST(CliTest, EvalWritesTheJsonRecord) {
  auto json_path = lmshrink::testing::temp_dir("eval_json") / "ppl.json";
  CommandResult r = run_lmshrink(
      eval_args(lmshrink::testing::stories_bin(), eval_text(), "--protocol llamacpp --seq-len 256 --json " + quote(json_path.string())),
      "evaljson");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stdout_text.find("protocol llamacpp"), std::string::npos);
  nlohmann::json record = nlohmann::json::parse(lmshrink::testing::slurp(json_path));
  for (const char* key : {"ppl", "nll", "tokens_scored", "windows", "protocol", "seq_len", "model", "file", "seconds"}) {
    EXPECT_TRUE(record.contains(key)) << key;
  }
  EXPECT_EQ(record["protocol"], "llamacpp");
  EXPECT_EQ(record["tokens_scored"].get<int64_t>(), record["windows"].get<int64_t>() * (256 - 1 - 128));
  EXPECT_GT(record["ppl"].get<double>(), 1.0);
  EXPECT_LT(record["ppl"].get<double>(), 20.0);  // a uniform guess would be 512
}

TEST(CliTest, GenerateFromModelDirectoryFindsItsTokenizer) {
  CommandResult r = run_lmshrink("generate " + quote(shared_path("models/stories260K")) + " --steps 256", "gen");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.stdout_text.rfind("Once upon a time, there was a little girl named Lily.", 0), 0u) << r.stdout_text;
}

TEST(CliTest, TokenizeEncodesDecodesAndReadsJsonl) {
  std::string tok = quote(lmshrink::testing::stories_tok());
  CommandResult ids = run_lmshrink("tokenize " + tok + " --text 'Once upon a time' --bos", "tok_ids");
  EXPECT_EQ(ids.stdout_text, "1 403 407 261 378\n");
  CommandResult json = run_lmshrink("tokenize " + tok + " --text 'Once upon a time' --json", "tok_json");
  EXPECT_EQ(json.stdout_text, "[403,407,261,378]\n");
  CommandResult text = run_lmshrink("tokenize " + tok + " --decode --text '1 403 407 261 378'", "tok_decode");
  EXPECT_EQ(text.stdout_text, "Once upon a time\n");
  std::string jsonl = write_file("jsonl", "in.jsonl", "{\"text\": \"Once upon a time\"}\n{\"text\": \"\"}\n");
  CommandResult lines = run_lmshrink("tokenize " + tok + " --jsonl " + quote(jsonl), "tok_jsonl");
  EXPECT_EQ(lines.stdout_text, "[403,407,261,378]\n[]\n");
  std::string bad = write_file("badjsonl", "bad.jsonl", "{\"txt\": 1}\n");
  expect_bad_input(run_lmshrink("tokenize " + tok + " --jsonl " + quote(bad), "tok_bad"), "bad.jsonl:1");
}

TEST(CliTest, InspectCountsParameters) {
  CommandResult r = run_lmshrink("inspect " + quote(lmshrink::testing::stories_bin()), "inspect");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stdout_text.find("total params 260032"), std::string::npos) << r.stdout_text;  // PROVENANCE.txt
}

}  // namespace

namespace {

TEST(CliTest, ConvertWritesAnHfDirectoryThatEveryCommandReads) {
  auto out = lmshrink::testing::temp_dir("cli_convert") / "hf";
  CommandResult convert = run_lmshrink("convert " + quote(lmshrink::testing::stories_bin()) + " -o " + quote(out.string()), "convert");
  ASSERT_EQ(convert.exit_code, 0) << convert.stderr_text;
  CommandResult inspect = run_lmshrink("inspect " + quote(out.string()), "convert_inspect");
  EXPECT_NE(inspect.stdout_text.find("total params 260032"), std::string::npos) << inspect.stdout_text;
  CommandResult again = run_lmshrink("convert " + quote(lmshrink::testing::stories_bin()) + " -o " + quote(out.string()), "convert2");
  expect_bad_input(again, "already exists");
  CommandResult gen = run_lmshrink("generate " + quote(out.string()) + " --steps 256", "convert_gen");  // tokenizer.json
  ASSERT_EQ(gen.exit_code, 0) << gen.stderr_text;
  EXPECT_EQ(gen.stdout_text.rfind("Once upon a time, there was a little girl named Lily.", 0), 0u) << gen.stdout_text;
  CommandResult ids = run_lmshrink("tokenize " + quote(out.string()) + " --text 'Once upon a time' --bos", "convert_tok");
  EXPECT_EQ(ids.stdout_text, "1 403 407 261 378\n");
}

}  // namespace

namespace {

// --version names the CPU code paths (issue 27), and LMSHRINK_KERNELS=portable reaches the runtime kernels.
TEST(CliTest, VersionNamesTheCpuCodePaths) {
  CommandResult result = run_lmshrink("--version", "version");
  EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
  for (const char* line : {"lmshrink ", "cpu: ", "runtime kernels: ", "libtorch: CPU capability ", "blas: "}) {
    EXPECT_NE(result.stdout_text.find(line), std::string::npos) << line << " missing from\n" << result.stdout_text;
  }
  CommandResult portable = run_lmshrink("--version", "version_portable", "LMSHRINK_KERNELS=portable");
  EXPECT_NE(portable.stdout_text.find("runtime kernels: portable"), std::string::npos) << portable.stdout_text;
}

}  // namespace

namespace {

struct TimedRun {
  int exit_code = -1;
  std::string out, err;
  double seconds = 0.0;
};

// Runs `lmshrink <args>` exactly as given (no --quiet added), stderr to a file as in a CI log.
TimedRun run_exactly(const std::string& args, const std::string& tag) {
  std::filesystem::path dir = lmshrink::testing::temp_dir("cli_exact_" + tag);
  std::string command = std::string(LMSHRINK_BINARY) + " " + args + " > " + (dir / "out").string() + " 2> " +
                        (dir / "err").string();
  auto start = std::chrono::steady_clock::now();
  int status = std::system(command.c_str());
  TimedRun run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = lmshrink::testing::slurp(dir / "out");
  run.err = lmshrink::testing::slurp(dir / "err");
  return run;
}

std::string stories_eval_args() {
  return "eval " + quote(lmshrink::testing::stories_bin()) + " --tokenizer " + quote(lmshrink::testing::stories_tok()) +
         " --ppl " + quote(eval_text());
}

TEST(CliTest, GlobalFlagsWorkBeforeAndAfterTheSubcommand) {
  TimedRun before = run_exactly("--quiet --threads 1 " + stories_eval_args(), "flags_before");
  TimedRun after = run_exactly(stories_eval_args() + " --quiet --threads 1", "flags_after");
  EXPECT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(after.exit_code, 0) << after.err;
  auto without_seconds = [](const std::string& line) { return line.substr(0, line.rfind(')') + 1); };
  EXPECT_EQ(without_seconds(before.out), without_seconds(after.out));  // the same perplexity line but its time
  EXPECT_NE(before.out.find("ppl "), std::string::npos) << before.out;
  EXPECT_EQ(before.err, "");
  EXPECT_EQ(after.err, "");
}

TEST(CliTest, ThreadsAboveTheCoreCountAreClampedWithAWarning) {
  TimedRun run = run_exactly(stories_eval_args() + " --quiet --threads 100000", "threads_clamp");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("warning: --threads 100000 is more than the"), std::string::npos) << run.err;
}

// Progress written to a file (not a terminal) comes as plain lines, at most one a second, with no carriage returns.
TEST(CliTest, ProgressToAFileIsAtMostOneLineASecond) {
  // ~320 KB of TinyStories (80 KB four times): several seconds of perplexity, long enough to show progress (80 KB
  // alone took 1.2 s once --threads 1 also held OpenBLAS to one thread).
  std::string stories = lmshrink::testing::slurp(shared_path("data/tinystories/tinystories-valid-eval.txt")).substr(0, 80000);
  std::string text = write_file("progress_lines", "text.txt", stories + stories + stories + stories);
  TimedRun run = run_exactly("--threads 1 eval " + quote(lmshrink::testing::stories_bin()) + " --tokenizer " +
                                 quote(lmshrink::testing::stories_tok()) + " --ppl " + quote(text) + " --seq-len 64",
                             "progress_lines");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  int64_t lines = std::count(run.err.begin(), run.err.end(), '\n');
  EXPECT_EQ(run.err.find('\r'), std::string::npos);
  EXPECT_GE(lines, 1) << "the run took " << run.seconds << " s and showed no progress";
  EXPECT_LE(lines, static_cast<int64_t>(run.seconds) + 1) << run.err;
}

}  // namespace
