// The zero-shot tasks lmshrink evaluates, read from ../shared/data (or any folder with the same
// layout, data/README.md) and turned into lm-eval-harness 0.4 prompts. Three kinds:
//   kChoice  - one context, N choices; request i = (context, delimiter + choices[i]); acc and acc_norm
//              (piqa, hellaswag, arc_easy, arc_challenge, boolq, openbookqa, copa; mmlu scores the
//              letters " A".." D", acc only);
//   kPartial - N contexts (an option substituted into the sentence), one shared continuation scored
//              (winogrande); acc only;
//   kGreedy  - one context, one continuation (lambada_openai): acc = the greedy decode reproduces every
//              continuation token, perplexity = exp(-mean continuation log-probability).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lmshrink {

enum class TaskKind { kChoice, kPartial, kGreedy };

struct TaskItem {
  std::vector<std::string> contexts;       // kChoice / kGreedy: one; kPartial: one per option
  std::vector<std::string> continuations;  // kChoice: one per choice (no delimiter); else one
  int gold = 0;                            // index of the right choice or context
  std::string group;                       // mmlu subject, else empty
};

struct TaskData {
  std::string name;
  TaskKind kind = TaskKind::kChoice;
  std::string delimiter = " ";  // lm-eval target_delimiter, put between context and continuation
  bool has_acc_norm = true;     // false where only acc is meaningful (letters, partial scoring)
  std::string headline;         // the metric papers usually report: "acc" or "acc_norm"
  std::string prompt;           // how the prompt was built, recorded in the results
  std::string source;           // the file(s) read
  int num_fewshot = 0;
  std::vector<TaskItem> items;
};

// A task's description before its items are read: name, kind, the file(s) read, the headline metric ("acc" or
// "acc_norm"), how the prompt is built, and whether acc_norm is meaningful.
TaskData describe_task(std::string name, TaskKind kind, std::string source, std::string headline, std::string prompt,
                       bool has_acc_norm);

// The task names load_task knows, in the order they are listed and evaluated.
const std::vector<std::string>& known_tasks();

// Reads a task from data_dir (the folder holding piqa/, arc/, mmlu/, ...). num_fewshot > 0 is
// supported for mmlu only (the first k rows of the subject's dev file, lm-eval's first_n sampler).
// Throws lmshrink::Error for an unknown name (listing the known ones) and for a malformed record
// (file and line number).
TaskData load_task(const std::string& name, const std::string& data_dir, int num_fewshot);

// The readers behind load_task, one per file format (task_readers.cpp, task_hellaswag.cpp, task_mmlu.cpp).
TaskData read_piqa(const std::string& data_dir);
TaskData read_query_choices(const std::string& name, const std::string& path);  // arc, boolq, openbookqa, copa
TaskData read_winogrande(const std::string& path);
TaskData read_lambada(const std::string& path);
TaskData read_hellaswag(const std::string& path);
TaskData read_mmlu(const std::string& data_dir, int num_fewshot);

// Their buffer entry points (fuzz/fuzz_tasks.cpp): the file's bytes; origin names it in errors.
TaskData parse_query_choices(const std::string& name, const std::string& text, const std::string& origin);
TaskData parse_winogrande(const std::string& text, const std::string& origin);
TaskData parse_lambada(const std::string& text, const std::string& origin);
TaskData parse_hellaswag(const std::string& bzip2_bytes, const std::string& origin);

struct MmluRow {
  std::string question;
  std::string choices[4];
  int answer = 0;
};
// The rows of an MMLU CSV (header question,choice0..choice3,answer; answer 0-3).
std::vector<MmluRow> parse_mmlu_rows(const std::string& text, const std::string& origin);

// The bytes of a task file; throws lmshrink::Error naming it when it cannot be opened.
std::string read_task_file(const std::string& path);

// Splits CSV text (RFC 4180: quoted fields, "" escapes, newlines inside quotes) into rows of fields.
// where names the file in errors; row_lines (optional) receives the line number each row starts on.
std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& where,
                                               std::vector<int64_t>* row_lines = nullptr);

}  // namespace lmshrink
