// Inline SVG line and bar charts (svg_chart.h).
#include "lmshrink/eval/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace lmshrink {

namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                         "#bcbd22", "#17becf"};

std::string color(size_t i) { return kColors[i % (sizeof(kColors) / sizeof(kColors[0]))]; }

std::string num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.4g", v);
  return buffer;
}

std::string text_at(double x, double y, const std::string& text, const std::string& extra = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" font-size=\"12\" font-family=\"sans-serif\" " + extra + ">" +
         html_escape(text) + "</text>";
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string svg_line_chart(const LineChart& chart) {
  const double width = 640, height = 360, left = 70, right = 170, top = 40, bottom = 50;
  double x_min = std::numeric_limits<double>::max(), x_max = -x_min, y_min = x_min, y_max = -x_min;
  auto ty = [&](double y) { return chart.log_y ? std::log10(std::max(y, 1e-12)) : y; };
  for (const ChartSeries& s : chart.series)
    for (auto [x, y] : s.points) {
      x_min = std::min(x_min, x), x_max = std::max(x_max, x);
      y_min = std::min(y_min, ty(y)), y_max = std::max(y_max, ty(y));
    }
  if (x_min > x_max) x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  if (x_max - x_min < 1e-12) x_max = x_min + 1;
  if (y_max - y_min < 1e-12) y_max = y_min + 1;
  double plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double x) { return left + (x - x_min) / (x_max - x_min) * plot_w; };
  auto py = [&](double y) { return top + plot_h - (ty(y) - y_min) / (y_max - y_min) * plot_h; };
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
                    "\" data-chart=\"" + html_escape(chart.id) + "\">";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>";
  svg += text_at(left, 22, chart.title, "font-weight=\"bold\"");
  svg += "<line x1=\"" + num(left) + "\" y1=\"" + num(top + plot_h) + "\" x2=\"" + num(left + plot_w) + "\" y2=\"" +
         num(top + plot_h) + "\" stroke=\"black\"/><line x1=\"" + num(left) + "\" y1=\"" + num(top) + "\" x2=\"" +
         num(left) + "\" y2=\"" + num(top + plot_h) + "\" stroke=\"black\"/>";
  for (int t = 0; t <= 4; ++t) {
    double fx = x_min + (x_max - x_min) * t / 4, fy = y_min + (y_max - y_min) * t / 4;
    svg += text_at(px(fx) - 10, top + plot_h + 16, num(fx));
    svg += text_at(4, top + plot_h - plot_h * t / 4 + 4, num(chart.log_y ? std::pow(10.0, fy) : fy));
  }
  svg += text_at(left + plot_w / 2 - 40, height - 8, chart.x_label);
  svg += text_at(4, top - 8, chart.y_label + (chart.log_y ? " (log scale)" : ""));
  for (size_t i = 0; i < chart.series.size(); ++i) {
    std::vector<std::pair<double, double>> points = chart.series[i].points;
    std::sort(points.begin(), points.end());
    svg += "<g class=\"series\" data-series=\"" + html_escape(chart.series[i].name) + "\">";
    std::string path;
    for (auto [x, y] : points) path += (path.empty() ? "M" : " L") + num(px(x)) + " " + num(py(y));
    svg += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + color(i) + "\" stroke-width=\"2\"/>";
    for (auto [x, y] : points)
      svg += "<circle cx=\"" + num(px(x)) + "\" cy=\"" + num(py(y)) + "\" r=\"4\" fill=\"" + color(i) + "\"><title>" +
             html_escape(chart.series[i].name) + ": " + num(x) + ", " + num(y) + "</title></circle>";
    svg += "<rect x=\"" + num(width - right + 12) + "\" y=\"" + num(top + 18 * i) + "\" width=\"12\" height=\"12\" fill=\"" +
           color(i) + "\"/>" + text_at(width - right + 30, top + 18 * i + 11, chart.series[i].name) + "</g>";
  }
  return svg + "</svg>";
}

std::string svg_bar_chart(const BarChart& chart) {
  const double label_w = 260, bar_w = 360, note_w = 120, row_h = 18, top = 50;
  double width = label_w + bar_w + note_w, height = top + row_h * chart.rows.size() + 30;
  double max_total = 0.0;
  for (const auto& row : chart.values) {
    double total = 0.0;
    for (double v : row) total += std::max(0.0, v);
    max_total = std::max(max_total, total);
  }
  if (max_total <= 0.0) max_total = 1.0;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
                    "\" data-chart=\"" + html_escape(chart.id) + "\">";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>";
  svg += text_at(4, 20, chart.title, "font-weight=\"bold\"");
  svg += text_at(label_w, 40, chart.value_label + " (full bar = " + num(max_total) + ")");
  for (size_t s = 0; s < chart.segments.size(); ++s) {
    svg += "<g class=\"series\" data-series=\"" + html_escape(chart.segments[s]) + "\">";
    if (chart.segments.size() > 1)
      svg += text_at(label_w + bar_w - 100, 14 + 14.0 * s, "\u25A0 " + chart.segments[s], "fill=\"" + color(s) + "\"");
    for (size_t r = 0; r < chart.rows.size(); ++r) {
      double offset = 0.0;
      for (size_t k = 0; k < s; ++k) offset += std::max(0.0, chart.values[r][k]);
      double value = std::max(0.0, chart.values[r][s]);
      svg += "<rect x=\"" + num(label_w + offset / max_total * bar_w) + "\" y=\"" + num(top + row_h * r) + "\" width=\"" +
             num(value / max_total * bar_w) + "\" height=\"" + num(row_h - 3) + "\" fill=\"" + color(s) + "\"><title>" +
             html_escape(chart.rows[r] + " " + chart.segments[s] + ": " + num(chart.values[r][s])) + "</title></rect>";
    }
    svg += "</g>";
  }
  for (size_t r = 0; r < chart.rows.size(); ++r) {
    svg += text_at(4, top + row_h * r + 12, chart.rows[r]);
    double total = 0.0;
    for (double v : chart.values[r]) total += std::max(0.0, v);
    std::string note = num(total) + (r < chart.row_notes.size() ? "  " + chart.row_notes[r] : "");
    svg += text_at(label_w + total / max_total * bar_w + 4, top + row_h * r + 12, note);
  }
  return svg + "</svg>";
}

}  // namespace lmshrink
