// `lmshrink report` on hand-written run and eval records: the Markdown twin holds every model and
// value, and the HTML page, rendered in headless Chromium, shows its charts (the screenshot is not
// blank) with one perplexity series per method in the DOM. Chromium is required: the test fails
// loudly when it is missing (scripts/install-deps.sh --with-browser installs it).
#include <gtest/gtest.h>
#include <png.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "lmshrink/eval/report.h"
#include "lmshrink/util/error.h"
#include "test_support.h"

namespace lmshrink {
namespace {

namespace fs = std::filesystem;

void write_json(const fs::path& path, const nlohmann::json& value) { std::ofstream(path) << value.dump(2); }

nlohmann::json eval_record(const std::string& model, double ppl, double acc) {
  return {{"command", "eval"}, {"model", model}, {"model_params", 1000}, {"model_bytes", 4000},
          {"results", {{{"task", "eval.txt"}, {"metric", "perplexity"}, {"value", ppl}, {"stderr", 0.1},
                        {"protocol", "gptq seq_len 512"}, {"headline", true}},
                       {{"task", "arc_easy"}, {"metric", "acc"}, {"value", acc}, {"stderr", 0.01}, {"headline", true}}}}};
}

nlohmann::json run_record(const std::string& method, double ratio, const fs::path& out, bool rocket) {
  nlohmann::json run = {{"command", "compress"}, {"method", method}, {"ratio_requested", ratio}, {"output", out.string()},
                        {"whole_model", {{"params_after", 1000 * (1 - ratio)}, {"bytes_after", 4000 * (1 - ratio)}}},
                        {"seconds", {{"calibration", 1.5}, {"decomposition", 3.0 + ratio}, {"save", 0.2}, {"total", 5.0}}}};
  if (rocket) {
    run["rocket"] = {{"alloc", "mckp"}};
    run["layers"] = {{{"name", "model.layers.0.self_attn.q_proj"}, {"ratio", 0.7}, {"ks", 1.9}},
                     {{"name", "model.layers.0.mlp.down_proj"}, {"ratio", 0.1}, {"ks", 1.0}}};
  }
  return run;
}

fs::path write_records() {
  fs::path dir = testing::temp_dir("report_records");
  write_json(dir / "dense_eval.json", eval_record("/models/dense", 10.0, 0.40));
  int index = 0;
  for (auto [method, rocket] : {std::pair{"svd-llm", false}, std::pair{"rocket", true}})
    for (double ratio : {0.2, 0.4}) {
      fs::path out = dir / ("run" + std::to_string(index++));
      fs::create_directories(out);
      write_json(out / "lmshrink_run.json", run_record(method, ratio, out, rocket));
      write_json(out / "eval.json", eval_record(out.string(), 10.0 + (rocket ? 10 : 40) * ratio, 0.35));
    }
  return dir;
}

std::vector<std::string> record_paths(const fs::path& dir) {
  std::vector<std::string> paths = {(dir / "dense_eval.json").string()};
  for (int i = 0; i < 4; ++i) paths.push_back((dir / ("run" + std::to_string(i))).string());
  return paths;
}

TEST(Report, MarkdownHoldsEveryModelAndValue) {
  fs::path dir = write_records();
  Report report = collect_report(record_paths(dir));
  ASSERT_EQ(report.models.size(), 5u);
  EXPECT_EQ(report.models[0].method, "dense");
  std::string md = report_markdown(report);
  EXPECT_NE(md.find("| rocket mckp 0.4 | rocket mckp | 0.4 | 600 | 2400 | 14 ± 0.1 | 0.35 ± 0.01 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| dense dense | dense | 0 | 1000 | 4000 | 10 ± 0.1 | 0.4 ± 0.01 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| model.layers.0.self_attn.q_proj | 0.7 | ks 1.9 |"), std::string::npos) << md;
  EXPECT_NE(md.find("### Time per stage"), std::string::npos);
  EXPECT_THROW(collect_report({testing::temp_dir("report_empty").string()}), Error);
}

std::string run_command(const std::string& command) {
  std::string text;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) text.append(buffer, n);
    pclose(pipe);
  }
  return text;
}

std::string chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(path)) return std::string(path) + " --headless --no-sandbox --disable-gpu --hide-scrollbars";
  return "";
}

TEST(Report, HtmlRendersInHeadlessChromiumWithOneSeriesPerMethod) {
  std::string browser = chromium();
  ASSERT_FALSE(browser.empty()) << "Chromium is NOT installed, so the HTML report cannot be checked: run "
                                   "scripts/install-deps.sh --with-browser (Debian package chromium)";
  fs::path dir = write_records();
  fs::path html = dir / "report.html", shot = dir / "shot.png";
  std::ofstream(html) << report_html(collect_report(record_paths(dir)));
  std::string dom = run_command(browser + " --dump-dom 'file://" + html.string() + "' 2>/dev/null");
  size_t chart = dom.find("data-chart=\"ppl-vs-ratio-0\"");
  ASSERT_NE(chart, std::string::npos) << dom.substr(0, 500);
  std::string ppl_chart = dom.substr(chart, dom.find("</svg>", chart) - chart);
  std::set<std::string> series;
  for (size_t at = ppl_chart.find("data-series=\""); at != std::string::npos; at = ppl_chart.find("data-series=\"", at + 1))
    series.insert(ppl_chart.substr(at + 13, ppl_chart.find('"', at + 13) - at - 13));
  EXPECT_EQ(series, (std::set<std::string>{"rocket mckp", "svd-llm"}));
  EXPECT_NE(dom.find("data-chart=\"allocation-0\""), std::string::npos);
  EXPECT_NE(dom.find("data-chart=\"time-per-stage\""), std::string::npos);

  run_command(browser + " --screenshot=" + shot.string() + " --window-size=1000,1600 'file://" + html.string() + "' 2>/dev/null");
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_file(&image, shot.c_str())) << "no screenshot at " << shot;
  image.format = PNG_FORMAT_RGB;
  std::vector<unsigned char> pixels(PNG_IMAGE_SIZE(image));
  ASSERT_TRUE(png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr));
  std::set<unsigned> colours;
  size_t non_white = 0;
  for (size_t i = 0; i + 2 < pixels.size(); i += 3) {
    colours.insert(pixels[i] << 16 | pixels[i + 1] << 8 | pixels[i + 2]);
    non_white += pixels[i] < 240 || pixels[i + 1] < 240 || pixels[i + 2] < 240;
  }
  EXPECT_GT(colours.size(), 20u) << "the screenshot is blank or nearly so";
  EXPECT_GT(non_white, pixels.size() / 3 / 100) << "under 1 % of the screenshot is drawn";
}

}  // namespace
}  // namespace lmshrink
