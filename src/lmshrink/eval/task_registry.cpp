// The task names and where each one's file lives under the data folder (task.h).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lmshrink/eval/task.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

const std::vector<std::string>& known_tasks() {
  static const std::vector<std::string> names = {"piqa",     "hellaswag",  "arc_easy",       "arc_challenge", "boolq",
                                                 "winogrande", "openbookqa", "lambada_openai", "mmlu",          "copa"};
  return names;
}

namespace {

std::string joined_names() {
  std::string names;
  for (const std::string& name : known_tasks()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

TaskData read_task(const std::string& name, const std::filesystem::path& dir, int num_fewshot) {
  if (name == "piqa") return read_piqa(dir.string());
  if (name == "hellaswag") return read_hellaswag((dir / "hellaswag/hellaswag_val_full.txt.bz2").string());
  if (name == "arc_easy") return read_query_choices(name, (dir / "arc/arc_easy.jsonl").string());
  if (name == "arc_challenge") return read_query_choices(name, (dir / "arc/arc_challenge.jsonl").string());
  if (name == "boolq") return read_query_choices(name, (dir / "boolq/boolq.jsonl").string());
  if (name == "openbookqa") return read_query_choices(name, (dir / "openbookqa/openbook_qa.jsonl").string());
  if (name == "copa") return read_query_choices(name, (dir / "extra/copa.jsonl").string());
  if (name == "winogrande") return read_winogrande((dir / "winogrande/winogrande.jsonl").string());
  if (name == "lambada_openai") return read_lambada((dir / "lambada_openai/lambada_openai.jsonl").string());
  if (name == "mmlu") return read_mmlu(dir.string(), num_fewshot);
  fail("unknown task '", name, "'; known tasks: ", joined_names());
}

}  // namespace

std::string read_task_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LMSHRINK_CHECK(in.good(), path, ": cannot open (is ../shared/data beside the checkout, or --data right?)");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TaskData load_task(const std::string& name, const std::string& data_dir, int num_fewshot) {
  LMSHRINK_CHECK(num_fewshot >= 0, "num_fewshot must be >= 0, got ", num_fewshot);
  LMSHRINK_CHECK(num_fewshot == 0 || name == "mmlu", "num_fewshot: ", num_fewshot, " for task '", name,
                 "' has no few-shot source here (only mmlu has a dev split); use 0");
  LMSHRINK_CHECK(std::filesystem::is_directory(data_dir), "data: ", data_dir, " is not a folder");
  TaskData task = read_task(name, data_dir, num_fewshot);
  LMSHRINK_CHECK(!task.items.empty(), task.source, ": no records");
  return task;
}

}  // namespace lmshrink
