// Every task reader parses its full file in ../shared/data with the record count data/README.md
// states, builds lm-eval's prompt, and names the file and line of a malformed record.
#include <gtest/gtest.h>

#include <fstream>

#include "lmshrink/eval/task.h"
#include "lmshrink/util/error.h"
#include "test_support.h"

namespace lmshrink {
namespace {

std::string data_dir() { return testing::shared_path("data"); }

TEST(EvalTasks, EveryReaderParsesItsFullFileWithThePublishedCount) {
  const std::vector<std::pair<std::string, size_t>> counts = {
      {"piqa", 1838},       {"hellaswag", 10042},  {"arc_easy", 2376},       {"arc_challenge", 1172},
      {"boolq", 3270},      {"winogrande", 1267}, {"openbookqa", 500},      {"lambada_openai", 5153},
      {"mmlu", 14042},      {"copa", 100}};
  ASSERT_EQ(counts.size(), known_tasks().size());
  for (const auto& [name, count] : counts) {
    TaskData task = load_task(name, data_dir(), 0);
    EXPECT_EQ(task.items.size(), count) << name;
    for (const TaskItem& item : task.items) {
      size_t options = task.kind == TaskKind::kPartial ? item.contexts.size() : item.continuations.size();
      ASSERT_TRUE(item.gold >= 0 && static_cast<size_t>(item.gold) < options) << name;
    }
  }
}

TEST(EvalTasks, PromptsFollowLmEval) {
  TaskData boolq = load_task("boolq", data_dir(), 0);
  EXPECT_EQ(boolq.items[0].contexts[0].rfind("Passage: ", 0), std::string::npos);
  EXPECT_TRUE(boolq.items[0].contexts[0].ends_with("?\nAnswer:"));
  EXPECT_EQ(boolq.items[0].continuations, (std::vector<std::string>{"no", "yes"}));
  TaskData copa = load_task("copa", data_dir(), 0);
  EXPECT_EQ(copa.items[0].contexts[0], "The man turned on the faucet therefore");
  TaskData piqa = load_task("piqa", data_dir(), 0);
  EXPECT_TRUE(piqa.items[0].contexts[0].rfind("Question: How do I ready a guinea pig cage", 0) == 0);
  EXPECT_TRUE(piqa.items[0].contexts[0].ends_with("\nAnswer:"));
  TaskData hellaswag = load_task("hellaswag", data_dir(), 0);
  EXPECT_EQ(hellaswag.items[0].contexts[0], "Roof shingle removal: A man is sitting on a roof. he");
  EXPECT_EQ(hellaswag.items[0].gold, 3);
  EXPECT_EQ(hellaswag.items[0].continuations[3], "starts pulling up roofing on a roof.");
}

TEST(EvalTasks, MmluFiveShotPromptUsesTheDevFileInOrder) {
  TaskData mmlu = load_task("mmlu", data_dir(), 5);
  const TaskItem* anatomy = nullptr;
  for (const TaskItem& item : mmlu.items)
    if (item.group == "anatomy") { anatomy = &item; break; }
  ASSERT_NE(anatomy, nullptr);
  const std::string& prompt = anatomy->contexts[0];
  EXPECT_EQ(prompt.rfind("The following are multiple choice questions (with answers) about anatomy.\n\n"
                         "What is the embryological origin of the hyoid bone?\nA. The first pharyngeal arch\n", 0), 0u);
  EXPECT_NE(prompt.find("\nD. The second and third pharyngeal arches\nAnswer: D\n\n"), std::string::npos);
  size_t shots = 0;
  for (size_t at = prompt.find("\nAnswer: "); at != std::string::npos; at = prompt.find("\nAnswer: ", at + 1)) ++shots;
  EXPECT_EQ(shots, 5u);
  EXPECT_TRUE(prompt.ends_with("\nAnswer:"));
  EXPECT_EQ(anatomy->continuations, (std::vector<std::string>{"A", "B", "C", "D"}));
  EXPECT_THROW(load_task("mmlu", data_dir(), 6), Error);  // the dev files hold 5 exemplars
  EXPECT_THROW(load_task("piqa", data_dir(), 1), Error);  // no few-shot source
}

TEST(EvalTasks, CsvParserHandlesQuotesCommasNewlinesAndEscapes) {
  std::vector<int64_t> lines;
  auto rows = parse_csv("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\"multi\nline\",None\n", "t.csv", &lines);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"x, y", "say \"hi\""}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"multi\nline", "None"}));
  EXPECT_EQ(lines, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_THROW(parse_csv("\"open", "t.csv"), Error);
}

std::string error_of(const std::string& name, const std::string& dir) {
  try {
    load_task(name, dir, 0);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(EvalTasks, MalformedRecordsAndUnknownNamesAreNamed) {
  auto dir = testing::temp_dir("eval_tasks_bad");
  std::filesystem::create_directories(dir / "arc");
  std::ofstream(dir / "arc/arc_easy.jsonl") << "{\"query\": \"Question: a\", \"choices\": [\"x\", \"y\"], \"gold\": 0}\n"
                                               "{\"query\": \"Question: b\", \"choices\": [\"x\", \"y\"], \"gold\": 1}\n"
                                               "{\"query\": \"Question: c\", \"choices\": [\"x\", \"y\"]}\n";
  EXPECT_NE(error_of("arc_easy", dir.string()).find("arc_easy.jsonl:3"), std::string::npos) << error_of("arc_easy", dir.string());
  std::ofstream(dir / "arc/arc_challenge.jsonl") << "{\"query\": \"Question: a\", \"choices\": [\"x\"], \"gold\": 0}\nnot json\n";
  EXPECT_NE(error_of("arc_challenge", dir.string()).find("arc_challenge.jsonl:1"), std::string::npos);
  std::string unknown = error_of("sciq", dir.string());
  EXPECT_NE(unknown.find("unknown task 'sciq'"), std::string::npos);
  EXPECT_NE(unknown.find("piqa, hellaswag"), std::string::npos);
}

}  // namespace
}  // namespace lmshrink
