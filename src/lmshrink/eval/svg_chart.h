// Self-contained inline SVG charts for `lmshrink report` (no script, no network at view time):
// a line chart of (x, y) series and a horizontal bar chart (one row per label, optionally stacked
// segments). Every series / segment kind is one <g class="series" data-series="NAME"> so a test (or
// a person with the DOM inspector) can count them; data-chart names the chart.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace lmshrink {

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in x order
};

struct LineChart {
  std::string id, title, x_label, y_label;
  bool log_y = false;
  std::vector<ChartSeries> series;
};

// rows[i] has one value per segment name; a single segment gives plain bars.
struct BarChart {
  std::string id, title, value_label;
  std::vector<std::string> rows;
  std::vector<std::string> segments;
  std::vector<std::vector<double>> values;
  std::vector<std::string> row_notes;  // optional text after each bar (e.g. "ks 1.9")
};

std::string svg_line_chart(const LineChart& chart);
std::string svg_bar_chart(const BarChart& chart);
std::string html_escape(const std::string& text);

}  // namespace lmshrink
