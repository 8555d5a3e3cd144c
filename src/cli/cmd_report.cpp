// lmshrink report PATHS... -o report.html: one self-contained HTML page (inline SVG) and its Markdown
// twin (report.md beside it) from run records and eval results (lmshrink/eval/report.h).
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "lmshrink/eval/report.h"
#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/input_paths.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

struct ReportArgs {
  std::vector<std::string> paths;
  std::string output, markdown;
};

void run_report(const ReportArgs& args) {
  std::string extension = std::filesystem::path(args.output).extension().string();
  LMSHRINK_CHECK(extension == ".html" || extension == ".htm", "-o: ", args.output, " must end in .html");
  for (const std::string& path : args.paths) note_input_path(path);
  Report report = collect_report(args.paths);
  std::string markdown = args.markdown.empty() ? std::filesystem::path(args.output).replace_extension(".md").string() : args.markdown;
  check_output_file(args.output);
  check_output_file(markdown);
  write_text_atomic(args.output, report_html(report));
  write_text_atomic(markdown, report_markdown(report));
  std::printf("report: %zu models from %zu records -> %s and %s\n", report.models.size(), report.sources.size(),
              args.output.c_str(), markdown.c_str());
}

}  // namespace

Command add_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand("report", "HTML + Markdown report (tables, perplexity-vs-ratio curves, per-layer "
                                               "allocation, time per stage) from run folders and eval JSONs");
  cmd->add_option("paths", args->paths, "run output folders (lmshrink_run.json), eval JSON files, or folders of them")
      ->required();
  cmd->add_option("-o,--output", args->output, "the HTML file to write")->required();
  cmd->add_option("--markdown", args->markdown, "the Markdown file (default: the HTML path with .md)");
  return [args] { run_report(*args); };
}

}  // namespace lmshrink::cli
