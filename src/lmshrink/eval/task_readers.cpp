// Readers of the JSONL task files (data/README.md) and the lm-eval 0.4 prompts built from them:
//   piqa        "Question: {goal}\nAnswer:" -> " " + sol1 | sol2 (labels from valid-labels.lst)
//   arc_*       "{query}\nAnswer:" (query = "Question: ...") -> " " + choice
//   boolq       "{passage}\nQuestion: {question}?\nAnswer:" -> " no" | " yes" (the file's "Passage: "
//               prefix is stripped: lm-eval has none)
//   openbookqa  "{question_stem}" -> " " + choice
//   copa        "{premise without its final period} because|therefore" -> " " + choice with a lower-case
//               first letter (the file's comma before the connective is removed, as lm-eval has none)
//   winogrande  partial scoring: contexts "{sentence up to the blank}{option}", continuation " " + rest
//   lambada     "{context}" -> " " + last word; greedy accuracy and target perplexity
#include <cctype>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lmshrink/eval/task.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

using RecordFn = std::function<void(const nlohmann::json& record, const std::string& where)>;

// Calls fn for every non-blank line of text parsed as a JSON object; where = "path:line".
void for_each_jsonl(const std::string& text, const std::string& path, const RecordFn& fn) {
  std::istringstream lines(text);
  std::string line;
  for (int64_t number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string where = path + ":" + std::to_string(number);
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    LMSHRINK_CHECK(record.is_object(), where, ": not a JSON object");
    try {
      fn(record, where);
    } catch (const nlohmann::json::exception& e) {
      fail(where, ": malformed record (", e.what(), ")");
    }
  }
}

std::string field(const nlohmann::json& record, const char* key, const std::string& where) {
  LMSHRINK_CHECK(record.contains(key) && record[key].is_string(), where, ": missing string field \"", key, "\"");
  return record[key].get<std::string>();
}

int gold_of(const nlohmann::json& record, size_t options, const std::string& where) {
  LMSHRINK_CHECK(record.contains("gold") && record["gold"].is_number_integer(), where, ": missing integer \"gold\"");
  const nlohmann::json& gold = record["gold"];
  LMSHRINK_CHECK((gold.is_number_unsigned() || gold.get<int64_t>() >= 0) && gold.get<uint64_t>() < options, where,
                 ": gold ", gold.dump(), " out of range for ", options, " options");
  return static_cast<int>(gold.get<uint64_t>());
}

std::vector<std::string> string_list(const nlohmann::json& record, const char* key, const std::string& where) {
  LMSHRINK_CHECK(record.contains(key) && record[key].is_array() && record[key].size() >= 2, where, ": \"", key,
                 "\" must be a list of at least 2 strings");
  std::vector<std::string> values;
  for (const auto& value : record[key]) {
    LMSHRINK_CHECK(value.is_string(), where, ": \"", key, "\" must hold strings");
    values.push_back(value.get<std::string>());
  }
  return values;
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// The lm-eval context of one foundry {"query","choices","gold"} record.
std::string query_context(const std::string& task, std::string query, const std::string& where) {
  if (task == "arc_easy" || task == "arc_challenge") return query + "\nAnswer:";
  if (task == "boolq") {
    LMSHRINK_CHECK(starts_with(query, "Passage: "), where, ": boolq query does not start with \"Passage: \"");
    return query.substr(9) + "\nAnswer:";
  }
  if (task == "copa") {
    size_t comma = query.rfind(", ");
    LMSHRINK_CHECK(comma != std::string::npos, where, ": copa query has no \", because|therefore\"");
    return query.substr(0, comma) + " " + query.substr(comma + 2);
  }
  return query;  // openbookqa: the bare question stem
}

}  // namespace

TaskData describe_task(std::string name, TaskKind kind, std::string source, std::string headline, std::string prompt,
                       bool has_acc_norm) {
  TaskData task{std::move(name), kind};
  task.source = std::move(source);
  task.headline = std::move(headline);
  task.prompt = std::move(prompt);
  task.has_acc_norm = has_acc_norm;
  return task;
}

TaskData read_query_choices(const std::string& name, const std::string& path) {
  return parse_query_choices(name, read_task_file(path), path);
}

TaskData parse_query_choices(const std::string& name, const std::string& text, const std::string& path) {
  std::string prompt = name == "boolq"  ? "lm-eval boolq: {passage}\\nQuestion: {question}?\\nAnswer: -> ' no'|' yes'"
                       : name == "copa" ? "lm-eval copa: {premise minus period} because|therefore -> ' ' + choice, first letter lower-case"
                       : name == "openbookqa" ? "lm-eval openbookqa: {question_stem} -> ' ' + choice"
                                              : "lm-eval arc: Question: {question}\\nAnswer: -> ' ' + choice";
  TaskData task = describe_task(name, TaskKind::kChoice, path,
                                (name == "arc_challenge" || name == "openbookqa") ? "acc_norm" : "acc", prompt,
                                name != "boolq" && name != "copa");
  for_each_jsonl(text, path, [&](const nlohmann::json& record, const std::string& where) {
    TaskItem item;
    item.contexts = {query_context(name, field(record, "query", where), where)};
    item.continuations = string_list(record, "choices", where);
    if (name == "copa")
      for (std::string& choice : item.continuations)
        if (!choice.empty()) choice[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(choice[0])));
    item.gold = gold_of(record, item.continuations.size(), where);
    task.items.push_back(std::move(item));
  });
  return task;
}

TaskData read_piqa(const std::string& data_dir) {
  std::string path = data_dir + "/piqa/valid.jsonl", labels_path = data_dir + "/piqa/valid-labels.lst";
  TaskData task = describe_task("piqa", TaskKind::kChoice, path + " + " + labels_path, "acc",
                                "lm-eval piqa: Question: {goal}\\nAnswer: -> ' ' + sol1|sol2", true);
  for_each_jsonl(read_task_file(path), path, [&](const nlohmann::json& record, const std::string& where) {
    task.items.push_back({{"Question: " + field(record, "goal", where) + "\nAnswer:"},
                          {field(record, "sol1", where), field(record, "sol2", where)}, 0, ""});
  });
  std::istringstream labels(read_task_file(labels_path));
  std::string line;
  size_t index = 0;
  for (int64_t number = 1; std::getline(labels, line); ++number) {
    if (line.empty()) continue;
    LMSHRINK_CHECK((line == "0" || line == "1") && index < task.items.size(), labels_path, ":", number,
                   ": expected a label 0 or 1 for record ", index + 1, " of ", task.items.size(), ", got '", line, "'");
    task.items[index++].gold = line[0] - '0';
  }
  LMSHRINK_CHECK(index == task.items.size(), labels_path, ": ", index, " labels for ", task.items.size(), " records");
  return task;
}

TaskData read_winogrande(const std::string& path) { return parse_winogrande(read_task_file(path), path); }

TaskData parse_winogrande(const std::string& text, const std::string& path) {
  TaskData task = describe_task("winogrande", TaskKind::kPartial, path, "acc",
      "lm-eval winogrande partial scoring: log P(' ' + continuation | sentence up to the blank + option)", false);
  for_each_jsonl(text, path, [&](const nlohmann::json& record, const std::string& where) {
    TaskItem item;
    item.contexts = string_list(record, "context_options", where);
    item.continuations = {field(record, "continuation", where)};
    item.gold = gold_of(record, item.contexts.size(), where);
    task.items.push_back(std::move(item));
  });
  return task;
}

TaskData read_lambada(const std::string& path) { return parse_lambada(read_task_file(path), path); }

TaskData parse_lambada(const std::string& text, const std::string& path) {
  TaskData task = describe_task("lambada_openai", TaskKind::kGreedy, path, "acc",
      "lm-eval lambada_openai: {text minus last word} -> ' ' + last word; acc = greedy match, perplexity", false);
  for_each_jsonl(text, path, [&](const nlohmann::json& record, const std::string& where) {
    std::string continuation = field(record, "continuation", where);
    LMSHRINK_CHECK(!continuation.empty(), where, ": empty continuation");
    task.items.push_back({{field(record, "context", where)}, {continuation}, 0, ""});
  });
  return task;
}

}  // namespace lmshrink
