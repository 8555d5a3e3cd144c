// Wall time of the compress stages (calibration, decomposition, saving) and peak resident memory,
// for SVD-LLM at ratio 0.3 (issue 5 goal: total / decomposition <= 1.3).
// Models: the real stories260K (TinyStories calibration, 256 x 512 tokens, the CLI default), and
// ONE block of a SYNTHETIC seeded random-weight model with Llama-3.2-1B shapes (hidden 2048,
// MLP 8192, 32/8 heads, vocabulary 8192; random calibration tokens, n x 1024).
//   build/lmshrink_bench_compress [synthetic_samples (default 8)]
// Each stage runs once: they are seconds long, and repetition would only re-measure the same BLAS.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "lmshrink/calib/corpus.h"
#include "lmshrink/calib/sampling.h"
#include "lmshrink/compress/pipeline.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/model/synthetic.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "lmshrink/util/progress.h"

namespace {

using Clock = std::chrono::steady_clock;

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux: KiB
}

void report(const char* label, lmshrink::Transformer& model, const at::Tensor& tokens) {
  lmshrink::CompressOptions options{lmshrink::parse_method("svd-llm"), 0.3, lmshrink::all_projections(),
                                    lmshrink::Mode::kOneShot, 8};
  lmshrink::CompressResult result = lmshrink::compress_model(model, tokens, options);
  auto dir = std::filesystem::temp_directory_path() / "lmshrink_bench_compress";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Clock::time_point start = Clock::now();
  lmshrink::write_hf_model(model, dir.string(), {{"method", "svd-llm"}});
  double save = std::chrono::duration<double>(Clock::now() - start).count();
  std::filesystem::remove_all(dir);
  double total = result.calibration_seconds + result.decomposition_seconds + save;
  std::printf("%-44s tokens %7lld  calibration %7.2f s  decomposition %7.2f s  save %5.2f s  total/decomposition %.2f"
              "  peak RSS %.0f MiB\n",
              label, static_cast<long long>(tokens.numel()), result.calibration_seconds, result.decomposition_seconds,
              save, total / result.decomposition_seconds, peak_rss_mib());
}

}  // namespace

int main(int argc, char** argv) {
  lmshrink::set_progress_quiet(true);
  torch::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));  // as the CLI does
  int64_t synthetic_samples = argc > 1 ? std::stoll(argv[1]) : 8;
  std::string shared = LMSHRINK_SHARED_DIR;
  std::printf("threads %d\n", torch::get_num_threads());
  {
    auto model = lmshrink::load_llama2c(shared + "/models/stories260K/stories260K.bin");
    lmshrink::Llama2cTokenizer tokenizer(shared + "/models/stories260K/tok512.bin");
    auto docs = lmshrink::read_corpus(shared + "/data/tinystories/tinystories-valid-calib.txt");
    at::Tensor tokens = lmshrink::sample_calibration(docs, tokenizer, {"tinystories", "blocks", 256, 512, 0});
    report("stories260K (real), 5 blocks", *model, tokens);
  }
  {
    lmshrink::ModelConfig config = lmshrink::llama32_1b_shapes(8192, 2048);
    config.num_layers = 1;
    auto model = lmshrink::make_synthetic_model(config, 2024);
    at::Tensor tokens = torch::randint(3, config.vocab_size, {synthetic_samples, 1024},
                                       at::detail::createCPUGenerator(7), torch::kInt64);
    report("SYNTHETIC Llama-3.2-1B shapes, 1 block", *model, tokens);
  }
  return 0;
}
