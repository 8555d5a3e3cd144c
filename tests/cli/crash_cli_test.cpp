// Output safety through the binary (issue 21): every writing command killed (SIGKILL) at every named step
// of its output write (util/kill_point.h) leaves the previous output or the new one complete at the target,
// byte for byte, and the next run leaves no staging folder behind; `-o` naming the working directory, a
// folder above it, the input, or a folder around or inside the input is refused before anything is touched.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "cli/cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using lmshrink::testing::CommandResult;
using lmshrink::testing::expect_bad_input;
using lmshrink::testing::quote;
using lmshrink::testing::run_lmshrink;
using lmshrink::testing::shared_path;
using lmshrink::testing::slurp;

// Every file of a model folder with its bytes, except the run record (it holds times and dates).
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    files[name] = name == "lmshrink_run.json" ? "" : slurp(entry.path());
  }
  return files;
}

std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.find(".tmp-") != std::string::npos) names.push_back(name);
  }
  return names;
}

struct WritingCommand {
  std::string name;
  std::function<std::string(const fs::path& out, int variant)> args;  // variant 0: the old output, 1: the new
};

std::string calib() {
  return " --calib " + quote(shared_path("data/tinystories/tinystories-valid-calib.txt")) +
         " --calib-samples 8 --calib-seq-len 64";
}

std::vector<WritingCommand> writing_commands(const fs::path& hf_model) {
  std::string stories = quote(lmshrink::testing::stories_bin());
  return {
      {"compress", [=](const fs::path& out, int v) {
         return "compress " + stories + " -o " + quote(out.string()) + " --method svd --ratio " + (v ? "0.3" : "0.2");
       }},
      {"prune", [=](const fs::path& out, int v) {
         return "prune " + stories + " -o " + quote(out.string()) + " --method uidl --blocks " + (v ? "2" : "1") + calib();
       }},
      {"convert", [=](const fs::path& out, int v) {
         return "convert " + stories + " -o " + quote(out.string()) + " --dtype " + (v ? "bf16" : "f32");
       }},
      {"export", [=](const fs::path& out, int v) {
         return "export " + quote(hf_model.string()) + " --dense " + quote(out.string()) + " --dtype " + (v ? "f16" : "f32");
       }},
  };
}

TEST(CrashCliTest, AKillAtAnyStepLeavesTheOldOrTheNewOutputComplete) {
  fs::path dir = lmshrink::testing::temp_dir("crash");
  fs::path hf_model = dir / "hf";
  ASSERT_EQ(run_lmshrink("convert " + quote(lmshrink::testing::stories_bin()) + " -o " + quote(hf_model.string()), "crash_hf").exit_code, 0);
  const std::vector<std::pair<std::string, std::string>> steps = {
      {"staging-created", ""}, {"block-written", ""}, {"shard-written", ""}, {"before-replace", ""},
      {"after-exchange", ""},  {"after-aside", "LMSHRINK_TEST_NO_EXCHANGE=1"}};
  for (const WritingCommand& command : writing_commands(hf_model)) {
    fs::path old_out = dir / (command.name + "-old"), new_out = dir / (command.name + "-new");
    ASSERT_EQ(run_lmshrink(command.args(old_out, 0), "crash_old").exit_code, 0) << command.name;
    ASSERT_EQ(run_lmshrink(command.args(new_out, 1), "crash_new").exit_code, 0) << command.name;
    auto old_files = snapshot(old_out), new_files = snapshot(new_out);
    ASSERT_NE(old_files, new_files) << command.name << ": the two variants must differ";
    for (const auto& [step, environment] : steps) {
      fs::path out = dir / (command.name + "-" + step);
      fs::copy(old_out, out);
      std::string env = "LMSHRINK_KILL_AT=" + step + (environment.empty() ? "" : " " + environment);
      CommandResult killed = run_lmshrink(command.args(out, 1) + " --force", "crash_kill", env);
      EXPECT_NE(killed.exit_code, 0) << command.name << " at " << step << " was not killed";
      if (step == "after-aside") {
        // Without RENAME_EXCHANGE the old output waits beside the target; the next writer in the folder moves it back.
        EXPECT_FALSE(fs::exists(out)) << command.name;
        CommandResult again = run_lmshrink(command.args(out, 1) + " --force", "crash_kill2", "LMSHRINK_KILL_AT=staging-created");
        EXPECT_NE(again.exit_code, 0) << command.name;
      }
      auto after = snapshot(out);
      EXPECT_TRUE(after == old_files || after == new_files) << command.name << " killed at " << step
                                                             << ": the output is neither the old nor the new one";
      EXPECT_EQ(run_lmshrink("inspect " + quote(out.string()), "crash_inspect").exit_code, 0) << command.name << " at " << step;
      CommandResult rerun = run_lmshrink(command.args(out, 1) + " --force", "crash_rerun");
      EXPECT_EQ(rerun.exit_code, 0) << rerun.stderr_text;
      EXPECT_EQ(snapshot(out), new_files) << command.name << " at " << step;
      EXPECT_TRUE(leftovers(dir).empty()) << command.name << " at " << step << ": " << leftovers(dir)[0];
    }
  }
}

// A full disk, as a file-size limit (ulimit -f: the write fails with EFBIG once lmshrink ignores SIGXFSZ): every
// writing command ends with a one-line error and exit 2, a new output is absent, an output it would replace is
// untouched, and no staging folder is left.
TEST(CrashCliTest, AFullDiskIsACleanErrorWithNoPartialOutput) {
  fs::path dir = lmshrink::testing::temp_dir("disk_full");
  fs::path hf_model = dir / "hf";
  ASSERT_EQ(run_lmshrink("convert " + quote(lmshrink::testing::stories_bin()) + " -o " + quote(hf_model.string()), "full_hf").exit_code, 0);
  for (const WritingCommand& command : writing_commands(hf_model)) {
    fs::path old_out = dir / (command.name + "-old"), new_out = dir / (command.name + "-new");
    ASSERT_EQ(run_lmshrink(command.args(old_out, 0), "full_old").exit_code, 0) << command.name;
    auto old_files = snapshot(old_out);
    for (const std::string& limit_kb : {"8", "200"}) {  // inside the first file; inside a later one
      // run_lmshrink appends the binary and its arguments: they become bash's $0 and $@.
      std::string limited = "--chdir=" + quote(dir.string()) + " bash -c 'ulimit -f " + limit_kb + " && exec \"$0\" \"$@\"'";
      CommandResult fresh = run_lmshrink(command.args(new_out, 1), "full_new", limited);
      expect_bad_input(fresh, "File too large");
      EXPECT_FALSE(fs::exists(new_out)) << command.name << " at " << limit_kb << " KB";
      CommandResult replace = run_lmshrink(command.args(old_out, 1) + " --force", "full_replace", limited);
      expect_bad_input(replace, "File too large");
      EXPECT_EQ(snapshot(old_out), old_files) << command.name << " at " << limit_kb << " KB";
      EXPECT_TRUE(leftovers(dir).empty()) << command.name << " at " << limit_kb << " KB: " << leftovers(dir)[0];
    }
  }
}

// `cd DIR && lmshrink ARGS`, so that relative outputs such as "." mean DIR.
CommandResult run_in(const fs::path& dir, const std::string& args, const std::string& tag) {
  return run_lmshrink(args, tag, "--chdir=" + quote(dir.string()));
}

TEST(CrashCliTest, OutputsThatWouldReplaceTheInputOrTheWorkingDirectoryAreRefusedUntouched) {
  fs::path dir = lmshrink::testing::temp_dir("outpaths");
  fs::path model_dir = dir / "work", model = model_dir / "model.bin";
  fs::create_directories(model_dir / "sub");
  fs::copy_file(lmshrink::testing::stories_bin(), model);
  fs::copy_file(lmshrink::testing::stories_tok(), model_dir / "tok512.bin");
  { std::ofstream(model_dir / "notes.txt") << "keep me"; }
  ASSERT_EQ(run_lmshrink("convert " + quote(model.string()) + " -o " + quote((dir / "hf").string()), "op_hf").exit_code, 0);
  auto before = snapshot(model_dir);
  auto hf_before = snapshot(dir / "hf");
  struct Case { std::string args, mentions; };
  const std::vector<Case> cases = {
      {"convert model.bin -o . --force", "working directory"},
      {"convert model.bin -o .. --force", "working directory"},
      {"convert model.bin -o ./ --force", "working directory"},
      {"convert model.bin -o model.bin --force", "input"},
      {"compress . -o . --force --method svd --ratio 0.2", "working directory"},
      {"compress ../hf -o ../hf --force --method svd --ratio 0.2", "input"},
      {"compress ../hf -o ../hf/inner --force --method svd --ratio 0.2", "inside the input"},
      {"compress ../hf -o .. --force --method svd --ratio 0.2", "working directory"},
      {"export ../hf --dense ../hf --force", "input"},
      {"prune ../hf -o ../hf --force --method uidl --blocks 1" + calib(), "input"},
      {"convert model.bin -o notes.txt/out", "not a folder"},
      {"eval model.bin --ppl " + quote(shared_path("models/stories260K/eval_tinystories_valid_6stories.txt")) +
           " --json model.bin", "input"},
  };
  for (const Case& c : cases) {
    expect_bad_input(run_in(model_dir, c.args, "op_case"), c.mentions);
    EXPECT_EQ(snapshot(model_dir), before) << c.args;
    EXPECT_EQ(snapshot(dir / "hf"), hf_before) << c.args;
    EXPECT_TRUE(leftovers(model_dir).empty() && leftovers(dir).empty()) << c.args;
  }
}

}  // namespace
