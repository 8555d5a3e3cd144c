// lmshrink: the command-line entry point. Parses the subcommand, runs it, and turns every error
// into one line on stderr: exit 2 for bad input (lmshrink::Error, unknown or invalid flags),
// exit 1 for internal errors.
#include <torch/torch.h>

#include <csignal>
#include <cstdio>
#include <map>
#include <thread>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/flag_names.h"
#include "cli/progress_display.h"
#include "lmshrink/runtime/cpu_report.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace {
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }
}  // namespace

int main(int argc, char** argv) {
  // A file-size limit (ulimit -f) must end in the writers' clean "write failed: File too large" error, removing
  // the partial output, not in the default SIGXFSZ kill that leaves it behind.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"lmshrink: training-free compression of transformer language models"};
  app.require_subcommand(1);
  // --version also names the CPU code paths in use: floating-point results can differ between them (issue 27).
  app.set_version_flag("--version", [] { return "lmshrink 0.1.0\n" + lmshrink::describe(lmshrink::cpu_report()); });
  bool quiet = false;
  int threads = 0;
  app.add_flag("-q,--quiet", quiet, "No progress on stderr");
  app.add_option("--threads", threads, "CPU threads (default: all cores; more than the cores are clamped)")
      ->check(lmshrink::cli::at_least(0));
  app.fallthrough();  // the global flags are accepted after the subcommand too: `lmshrink eval M --quiet`
  std::map<CLI::App*, lmshrink::cli::Command> commands;
  for (auto add : {lmshrink::cli::add_generate, lmshrink::cli::add_eval, lmshrink::cli::add_inspect,
                   lmshrink::cli::add_tokenize, lmshrink::cli::add_convert,
                   lmshrink::cli::add_compress, lmshrink::cli::add_export,
                   lmshrink::cli::add_profile, lmshrink::cli::add_heal, lmshrink::cli::add_prune,
                   lmshrink::cli::add_report, lmshrink::cli::add_train, lmshrink::cli::add_bench,
                   lmshrink::cli::add_synthesize}) {
    lmshrink::cli::Command run = add(app);
    commands[app.get_subcommands({}).back()] = run;  // add() appended its subcommand
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "lmshrink: error: %s (see lmshrink --help)\n", first_line(e.what()).c_str());
    return 2;
  }
  if (!quiet) lmshrink::set_progress_callback(lmshrink::cli::progress_display(stderr, ::isatty(::fileno(stderr)) != 0));
  // libtorch defaults to one thread on some machines here; use every core unless told otherwise, and never more
  // threads than cores (each would only wait for another, and 100,000 of them cannot even be started).
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (threads > cores) {
    std::fprintf(stderr, "lmshrink: warning: --threads %d is more than the %d cores; using %d\n", threads, cores, cores);
    threads = cores;
  }
  torch::set_num_threads(threads > 0 ? threads : cores);
  // OpenBLAS keeps its own pool (all cores, or OPENBLAS_NUM_THREADS): a --threads 1 run beside other work was 3x
  // slower than it should be, its decompositions' LAPACK calls still spinning on both cores.
  if (threads > 0) lmshrink::set_blas_threads(threads);
  try {
    for (CLI::App* sub : app.get_subcommands()) commands.at(sub)();
  } catch (const lmshrink::Error& e) {
    std::string message = lmshrink::cli::with_flag_names(app, first_line(e.what()));
    std::fprintf(stderr, "lmshrink: error: %s\n", message.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lmshrink: internal error: %s\n", first_line(e.what()).c_str());
    return 1;
  }
  return 0;
}
