// Rendering of the gathered report as Markdown and as one self-contained HTML page (report.h).
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "lmshrink/eval/report.h"
#include "lmshrink/eval/svg_chart.h"
#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

struct Column {
  std::string key, title;
  bool perplexity = false;
};

std::string fmt(double v, const char* format = "%.4g") {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), format, v);
  return buffer;
}

// One column per headline result (task, metric) found in any eval, perplexities first.
std::vector<Column> metric_columns(const Report& report) {
  std::vector<Column> columns;
  std::set<std::string> seen;
  for (int pass = 0; pass < 2; ++pass)
    for (const ReportModel& model : report.models)
      for (const nlohmann::json& eval : model.evals)
        for (const nlohmann::json& r : eval.value("results", nlohmann::json::array())) {
          if (!r.value("headline", false)) continue;
          std::string metric = r.value("metric", ""), task = r.value("task", "");
          bool ppl = metric.find("perplexity") != std::string::npos;
          if (ppl != (pass == 0) || !seen.insert(task + ":" + metric).second) continue;
          columns.push_back({task + ":" + metric, ppl ? task + " " + metric + " (" + r.value("protocol", "") + ")"
                                                      : task + " " + metric, ppl});
        }
  return columns;
}

const nlohmann::json* find_result(const ReportModel& model, const std::string& key) {
  for (const nlohmann::json& eval : model.evals) {
    if (!eval.contains("results") || !eval["results"].is_array()) continue;
    for (const nlohmann::json& r : eval["results"])  // a reference into the record: the pointer outlives the loop
      if (r.value("task", "") + ":" + r.value("metric", "") == key) return &r;
  }
  return nullptr;
}

std::pair<std::string, std::string> size_of(const ReportModel& model) {
  if (model.run.is_object() && model.run.contains("whole_model"))
    return {fmt(model.run["whole_model"].value("params_after", 0.0), "%.0f"),
            fmt(model.run["whole_model"].value("bytes_after", 0.0), "%.0f")};
  for (const nlohmann::json& eval : model.evals)
    if (eval.contains("model_params")) return {fmt(eval["model_params"].get<double>(), "%.0f"), fmt(eval["model_bytes"].get<double>(), "%.0f")};
  return {"", ""};
}

std::vector<std::vector<std::string>> model_table(const Report& report, const std::vector<Column>& columns) {
  std::vector<std::string> header = {"model", "method", "ratio", "params", "bytes"};
  for (const Column& c : columns) header.push_back(c.title);
  std::vector<std::vector<std::string>> rows = {header};
  for (const ReportModel& model : report.models) {
    auto [params, bytes] = size_of(model);
    std::vector<std::string> row = {model.label, model.method, model.method == "dense" ? "0" : fmt(model.ratio), params, bytes};
    for (const Column& c : columns) {
      const nlohmann::json* r = find_result(model, c.key);
      row.push_back(r ? fmt((*r)["value"].get<double>()) + (r->value("stderr", 0.0) > 0 ? " ± " + fmt((*r)["stderr"].get<double>(), "%.2g") : "") : "");
    }
    rows.push_back(row);
  }
  return rows;
}

std::vector<LineChart> ppl_charts(const Report& report, const std::vector<Column>& columns) {
  std::vector<LineChart> charts;
  for (const Column& c : columns) {
    if (!c.perplexity) continue;
    LineChart chart{"ppl-vs-ratio-" + std::to_string(charts.size()), c.title + " vs compression ratio", "requested ratio", c.title.substr(0, c.title.find(' ', c.title.find(' ') + 1)), true};
    const nlohmann::json* dense = nullptr;
    for (const ReportModel& model : report.models)
      if (model.method == "dense" && !dense) dense = find_result(model, c.key);
    std::map<std::string, ChartSeries> by_method;
    for (const ReportModel& model : report.models) {
      const nlohmann::json* r = find_result(model, c.key);
      if (model.method == "dense" || !r) continue;
      ChartSeries& series = by_method[model.method];
      series.name = model.method;
      if (series.points.empty() && dense) series.points.push_back({0.0, (*dense)["value"].get<double>()});
      series.points.push_back({model.ratio, (*r)["value"].get<double>()});
    }
    for (auto& [method, series] : by_method) chart.series.push_back(series);
    if (!chart.series.empty()) charts.push_back(chart);
  }
  return charts;
}

std::vector<BarChart> allocation_charts(const Report& report) {
  std::vector<BarChart> charts;
  for (const ReportModel& model : report.models) {
    if (!model.run.is_object() || !model.run.contains("layers") || !model.run["layers"].is_array()) continue;
    BarChart chart{"allocation-" + std::to_string(charts.size()), "Per-layer allocation: " + model.label, "removed fraction of each matrix", {}, {"removed"}};
    std::set<double> distinct;
    for (const nlohmann::json& layer : model.run["layers"]) {
      if (!layer.contains("ratio") || !layer["ratio"].is_number()) continue;
      chart.rows.push_back(layer.value("name", ""));
      chart.values.push_back({layer["ratio"].get<double>()});
      distinct.insert(layer["ratio"].get<double>());
      chart.row_notes.push_back(layer.contains("ks") && layer["ks"].is_number() ? "ks " + fmt(layer["ks"].get<double>()) : "");
    }
    if (distinct.size() > 1) charts.push_back(chart);
  }
  return charts;
}

BarChart time_chart(const Report& report) {
  BarChart chart{"time-per-stage", "Time per stage", "seconds", {}, {}};
  for (const ReportModel& model : report.models)
    if (model.run.is_object() && model.run.contains("seconds") && model.run["seconds"].is_object())
      for (const auto& [stage, value] : model.run["seconds"].items())
        if (stage != "total" && stage != "threads" && value.is_number() &&
            std::find(chart.segments.begin(), chart.segments.end(), stage) == chart.segments.end())
          chart.segments.push_back(stage);
  for (const ReportModel& model : report.models) {
    if (!model.run.is_object() || !model.run.contains("seconds") || !model.run["seconds"].is_object()) continue;
    chart.rows.push_back(model.label);
    std::vector<double> values;
    for (const std::string& stage : chart.segments) values.push_back(model.run["seconds"].value(stage, 0.0));
    chart.values.push_back(values);
  }
  return chart;
}

std::string markdown_table(const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    out += "|";
    for (const std::string& cell : rows[r]) out += " " + cell + " |";
    out += "\n";
    if (r == 0) {
      out += "|";
      for (size_t c = 0; c < rows[0].size(); ++c) out += std::string(3, '-') + "|";  // the Markdown header rule
      out += "\n";
    }
  }
  return out + "\n";
}

std::string html_table(const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<table>";
  for (size_t r = 0; r < rows.size(); ++r) {
    out += "<tr>";
    for (const std::string& cell : rows[r]) out += (r == 0 ? "<th>" : "<td>") + html_escape(cell) + (r == 0 ? "</th>" : "</td>");
    out += "</tr>";
  }
  return out + "</table>";
}

// The Markdown form of a chart: its data as a table.
std::string line_chart_table(const LineChart& chart) {
  std::vector<std::vector<std::string>> rows = {{"method", "ratio", "value"}};
  for (const ChartSeries& s : chart.series)
    for (auto [x, y] : s.points) rows.push_back({s.name, fmt(x), fmt(y)});
  return "### " + chart.title + "\n\n" + markdown_table(rows);
}

std::string bar_chart_table(const BarChart& chart) {
  std::vector<std::vector<std::string>> rows = {{""}};
  for (const std::string& s : chart.segments) rows[0].push_back(s);
  bool notes = !chart.row_notes.empty();
  if (notes) rows[0].push_back("note");
  for (size_t r = 0; r < chart.rows.size(); ++r) {
    std::vector<std::string> row = {chart.rows[r]};
    for (double v : chart.values[r]) row.push_back(fmt(v));
    if (notes) row.push_back(chart.row_notes[r]);
    rows.push_back(row);
  }
  return "### " + chart.title + "\n\n" + markdown_table(rows);
}

// Records are user files: a field of an unexpected JSON type met while rendering is an lmshrink::Error naming them.
template <typename Render>
std::string render_checked(const Report& report, const Render& render) {
  try {
    return render();
  } catch (const nlohmann::json::exception& error) {
    std::string sources;
    for (const std::string& source : report.sources) sources += (sources.empty() ? "" : ", ") + source;
    fail("report: a record in ", sources, " has a field of an unexpected JSON type (", error.what(), ")");
  }
}

std::string markdown_of(const Report& report) {
  std::vector<Column> columns = metric_columns(report);
  std::string md = "# lmshrink report\n\n## Models\n\n" + markdown_table(model_table(report, columns));
  md += "Ratios are the requested removed fractions of each run's targeted weights (see each run record).\n\n";
  for (const LineChart& chart : ppl_charts(report, columns)) md += line_chart_table(chart);
  for (const BarChart& chart : allocation_charts(report)) md += bar_chart_table(chart);
  BarChart times = time_chart(report);
  if (!times.rows.empty()) md += bar_chart_table(times);
  md += "## Sources\n\n";
  for (const std::string& source : report.sources) md += "- " + source + "\n";
  return md;
}

std::string html_of(const Report& report) {
  std::vector<Column> columns = metric_columns(report);
  std::string html =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>lmshrink report</title><style>"
      "body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin-bottom:16px}"
      "td,th{border:1px solid #bbb;padding:3px 8px;font-size:13px;text-align:right}th{background:#eee}"
      "td:first-child{text-align:left}svg{display:block;margin:12px 0;border:1px solid #ddd}</style></head><body>"
      "<h1>lmshrink report</h1><h2>Models</h2>" + html_table(model_table(report, columns)) +
      "<p>Ratios are the requested removed fractions of each run's targeted weights (see each run record).</p>";
  std::vector<LineChart> ppl = ppl_charts(report, columns);
  if (!ppl.empty()) html += "<h2>Perplexity against compression ratio</h2>";
  for (const LineChart& chart : ppl) html += svg_line_chart(chart);
  std::vector<BarChart> allocations = allocation_charts(report);
  if (!allocations.empty()) html += "<h2>Per-layer allocation</h2>";
  for (const BarChart& chart : allocations) html += svg_bar_chart(chart);
  BarChart times = time_chart(report);
  if (!times.rows.empty()) html += "<h2>Time per stage</h2>" + svg_bar_chart(times);
  html += "<h2>Sources</h2><ul>";
  for (const std::string& source : report.sources) html += "<li>" + html_escape(source) + "</li>";
  return html + "</ul></body></html>\n";
}

}  // namespace

std::string report_markdown(const Report& report) {
  return render_checked(report, [&] { return markdown_of(report); });
}

std::string report_html(const Report& report) {
  return render_checked(report, [&] { return html_of(report); });
}

}  // namespace lmshrink
