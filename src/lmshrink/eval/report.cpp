// Gathering run and eval records and rendering the report (report.h).
#include "lmshrink/eval/report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "lmshrink/eval/svg_chart.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/read_file.h"

namespace lmshrink {

namespace fs = std::filesystem;

namespace {

std::string canonical(const std::string& path) {
  std::error_code error;
  fs::path resolved = fs::weakly_canonical(path, error);
  return error ? path : resolved.string();
}

// The record in text, or null when it is not a compress / prune / heal / eval record.
nlohmann::json parse_record(const std::string& text) {
  nlohmann::json record = nlohmann::json::parse(text, nullptr, false);
  if (!record.is_object() || !record.contains("command") || !record["command"].is_string()) return nullptr;
  std::string command = record["command"];
  if (command != "compress" && command != "prune" && command != "heal" && command != "eval") return nullptr;
  return record;
}

std::vector<fs::path> record_files(const std::string& path) {
  LMSHRINK_CHECK(fs::exists(path), "report: ", path, " does not exist");
  if (!fs::is_directory(path)) return {path};
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(path))
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

ReportModel model_of_run(const nlohmann::json& run) {
  ReportModel model;
  model.method = run.value("method", run.value("command", std::string("run")));
  if (run.contains("rocket") && run["rocket"].is_object()) model.method += " " + run["rocket"].value("alloc", std::string());
  if (run["command"] == "heal") model.method = "heal";
  if (run.contains("ratio_requested") && run["ratio_requested"].is_number()) model.ratio = run["ratio_requested"];
  else if (run.contains("whole_model") && run["whole_model"].contains("ratio")) model.ratio = run["whole_model"]["ratio"];
  char ratio[32];
  std::snprintf(ratio, sizeof(ratio), " %.3g", model.ratio);
  model.label = model.method + ratio;
  model.path = canonical(run.value("output", std::string()));
  model.run = run;
  return model;
}

}  // namespace

Report collect_report(const std::vector<std::string>& paths) {
  std::vector<std::pair<std::string, std::string>> records;
  for (const std::string& path : paths)
    for (const fs::path& file : record_files(path)) records.emplace_back(file.string(), read_file_bytes(file.string(), "record"));
  return report_from_records(records);
}

Report report_from_records(const std::vector<std::pair<std::string, std::string>>& records) {
  Report report;
  std::vector<nlohmann::json> evals;
  for (const auto& [origin, text] : records) {
    nlohmann::json record = parse_record(text);
    if (record.is_null()) continue;
    report.sources.push_back(origin);
    try {
      if (record["command"] == "eval") {
        LMSHRINK_CHECK(record.value("model", nlohmann::json("")).is_string(), origin, ": \"model\" must be a string");
        evals.push_back(record);
      } else {
        report.models.push_back(model_of_run(record));
      }
    } catch (const nlohmann::json::exception& error) {
      fail(origin, ": a field of an unexpected JSON type (", error.what(), ")");
    }
  }
  LMSHRINK_CHECK(!report.sources.empty(), "report: no lmshrink run or eval records (*.json with \"command\") in the given paths");
  for (const nlohmann::json& eval : evals) {
    std::string model_path = canonical(eval.value("model", std::string()));
    auto owner = std::find_if(report.models.begin(), report.models.end(),
                              [&](const ReportModel& m) { return m.path == model_path; });
    if (owner == report.models.end()) {
      ReportModel dense;
      dense.method = "dense";
      dense.label = "dense " + fs::path(model_path).filename().string();
      dense.path = model_path;
      report.models.push_back(dense);
      owner = report.models.end() - 1;
    }
    owner->evals.push_back(eval);
  }
  std::stable_sort(report.models.begin(), report.models.end(), [](const ReportModel& a, const ReportModel& b) {
    if ((a.method == "dense") != (b.method == "dense")) return a.method == "dense";
    return a.method != b.method ? a.method < b.method : a.ratio < b.ratio;
  });
  return report;
}

}  // namespace lmshrink
