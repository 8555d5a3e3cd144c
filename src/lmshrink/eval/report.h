// `lmshrink report`: gathers run records (lmshrink_run.json of compress / prune / heal) and eval
// results (the JSON of `lmshrink eval --json`) and renders them as one self-contained HTML page with
// inline SVG charts and a Markdown twin:
//  - a table of every model (dense and compressed): method, requested ratio, parameters, bytes, each
//    perplexity and each task's headline accuracy;
//  - perplexity against compression ratio, one chart per perplexity dataset, one series per method
//    (the dense model is the point at ratio 0 of every series);
//  - per-layer allocation bars (removed fraction per matrix, with ks where ROCKET chose one) for every
//    run whose record lists layers with differing ratios;
//  - time per stage (stacked bars of each run's "seconds").
// An eval belongs to the run whose "output" is the model it evaluated; other evals are "dense" models.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace lmshrink {

struct ReportModel {
  std::string label;   // "rocket 0.3", "dense stories260K.bin", ...
  std::string method;  // "dense" for models without a run record
  double ratio = 0.0;  // requested ratio (whole-model removed fraction for prune), 0 for dense
  std::string path;    // the model path (run output or evaluated model)
  nlohmann::json run;  // null for dense
  std::vector<nlohmann::json> evals;
};

struct Report {
  std::vector<ReportModel> models;
  std::vector<std::string> sources;  // the record files read
};

// paths: record files or folders holding them (*.json read non-recursively; files without a
// "command" of compress/prune/heal/eval are skipped). Throws lmshrink::Error when none is found.
Report collect_report(const std::vector<std::string>& paths);
// The buffer entry point (fuzz/fuzz_run_record.cpp): (origin, text) of each record file.
Report report_from_records(const std::vector<std::pair<std::string, std::string>>& records);

std::string report_markdown(const Report& report);
std::string report_html(const Report& report);

}  // namespace lmshrink
