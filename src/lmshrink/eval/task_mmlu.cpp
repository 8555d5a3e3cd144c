// MMLU as lm-eval 0.4's default mmlu task prompts it: per subject the description "The following are
// multiple choice questions (with answers) about {subject with spaces}.\n\n", k exemplars from the
// subject's dev file (first_n sampler) each "{question}\nA. ..\nB. ..\nC. ..\nD. ..\nAnswer: {letter}"
// joined by "\n\n", then the test question in the same form ending "Answer:". The choices scored
// are the letters " A".." D"; acc only. Files: mmlu/test/<subject>_test.csv and
// mmlu/dev/<subject>_dev.csv, CSV with the header question,choice0..choice3,answer.
#include <algorithm>
#include <filesystem>

#include "lmshrink/eval/task.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

std::vector<MmluRow> read_rows(const std::string& path) { return parse_mmlu_rows(read_task_file(path), path); }

std::string strip(const std::string& text) {
  size_t first = text.find_first_not_of(" \t\n\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\n\r") - first + 1);
}

std::string question_text(const MmluRow& row) {
  std::string text = strip(row.question);
  for (int c = 0; c < 4; ++c) text += std::string("\n") + static_cast<char>('A' + c) + ". " + row.choices[c];
  return text + "\nAnswer:";
}

std::string subject_prefix(const std::string& subject, const std::vector<MmluRow>& shots) {
  std::string readable = subject;
  std::replace(readable.begin(), readable.end(), '_', ' ');
  std::string prefix = "The following are multiple choice questions (with answers) about " + readable + ".\n\n";
  for (const MmluRow& shot : shots)
    prefix += question_text(shot) + " " + static_cast<char>('A' + shot.answer) + "\n\n";
  return prefix;
}

}  // namespace

TaskData read_mmlu(const std::string& data_dir, int num_fewshot) {
  std::filesystem::path test_dir = std::filesystem::path(data_dir) / "mmlu/test";
  LMSHRINK_CHECK(std::filesystem::is_directory(test_dir), test_dir.string(), ": missing");
  std::vector<std::string> subjects;
  for (const auto& entry : std::filesystem::directory_iterator(test_dir)) {
    std::string file = entry.path().filename().string();
    if (file.size() > 9 && file.ends_with("_test.csv")) subjects.push_back(file.substr(0, file.size() - 9));
  }
  std::sort(subjects.begin(), subjects.end());
  LMSHRINK_CHECK(!subjects.empty(), test_dir.string(), ": no <subject>_test.csv files");
  TaskData task = describe_task("mmlu", TaskKind::kChoice, test_dir.string(), "acc",
                                "lm-eval mmlu (default): subject description, " + std::to_string(num_fewshot) +
                                    " dev exemplars (first_n), letters ' A'..' D' scored",
                                false);
  task.num_fewshot = num_fewshot;
  for (const std::string& subject : subjects) {
    std::vector<MmluRow> shots;
    if (num_fewshot > 0) {
      std::string dev = (std::filesystem::path(data_dir) / "mmlu/dev" / (subject + "_dev.csv")).string();
      shots = read_rows(dev);
      LMSHRINK_CHECK(static_cast<int>(shots.size()) >= num_fewshot, dev, ": ", shots.size(),
                     " exemplars, fewer than --num-fewshot ", num_fewshot);
      shots.resize(num_fewshot);
    }
    std::string prefix = subject_prefix(subject, shots);
    for (const MmluRow& row : read_rows((test_dir / (subject + "_test.csv")).string()))
      task.items.push_back({{prefix + question_text(row)}, {"A", "B", "C", "D"}, row.answer, subject});
  }
  return task;
}

std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& where,
                                               std::vector<int64_t>* row_lines) {
  std::vector<std::vector<std::string>> rows;
  int64_t row_start = 1;
  std::vector<std::string> row;
  std::string fieldv;
  bool quoted = false, field_started = false;
  int64_t line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') ++line;
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') fieldv += '"', ++i;
      else if (c == '"') quoted = false;
      else fieldv += c;
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      row.push_back(std::move(fieldv)), fieldv.clear(), field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
      row.push_back(std::move(fieldv)), fieldv.clear(), field_started = false;
      rows.push_back(std::move(row)), row.clear();
      if (row_lines) row_lines->push_back(row_start);
      row_start = line;
    } else {
      fieldv += c, field_started = true;
    }
  }
  LMSHRINK_CHECK(!quoted, where, ":", line, ": unterminated quoted field");
  if (field_started || !row.empty()) {
    row.push_back(std::move(fieldv)), rows.push_back(std::move(row));
    if (row_lines) row_lines->push_back(row_start);
  }
  return rows;
}

std::vector<MmluRow> parse_mmlu_rows(const std::string& text, const std::string& path) {
  std::vector<int64_t> lines;
  std::vector<std::vector<std::string>> rows = parse_csv(text, path, &lines);
  LMSHRINK_CHECK(!rows.empty() && rows[0].size() == 6 && rows[0][0] == "question", path,
                 ": expected the header question,choice0,choice1,choice2,choice3,answer");
  std::vector<MmluRow> out;
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::vector<std::string>& row = rows[r];
    std::string where = path + ":" + std::to_string(lines[r]);
    LMSHRINK_CHECK(row.size() == 6, where, ": ", row.size(), " fields, expected 6");
    LMSHRINK_CHECK(row[5].size() == 1 && row[5][0] >= '0' && row[5][0] <= '3', where, ": answer '", row[5],
                   "' is not 0-3");
    MmluRow parsed{row[0], {row[1], row[2], row[3], row[4]}, row[5][0] - '0'};
    out.push_back(parsed);
  }
  return out;
}

}  // namespace lmshrink
