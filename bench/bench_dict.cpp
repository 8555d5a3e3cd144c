// Speed of the sparse-dictionary solvers (issue 6 goals): CoSpaDi's batched K-SVD against the straightforward
// float64 implementation of the same sizes and iterations (tests/reference/naive_dict.h: per-column OMP with a
// fresh least-squares solve per step, per-atom residual recomputed, exact SVD rank-1; goal ≥ 20× faster), and
// the decomposition time of cospadi and compot next to svd-llm on stories260K from the same cached statistics
// (goal: compot within 3× of svd-llm).
//   build/lmshrink_bench_dict [naive_iterations (default 2)]
// The K-SVD problem is SYNTHETIC: a seeded random 256 x 688 whitened weight (4× the stories260K up_proj width),
// k and s for ratio 0.3 under full accounting. Each figure is one run (seconds-long stages).
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "lmshrink/calib/corpus.h"
#include "lmshrink/calib/sampling.h"
#include "lmshrink/calib/streaming.h"
#include "lmshrink/compress/cospadi.h"
#include "lmshrink/compress/dict_size.h"
#include "lmshrink/compress/pipeline.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "lmshrink/util/progress.h"
#include "reference/naive_dict.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void ksvd_speed(int64_t iterations) {
  int64_t n = 256, m = 688;
  lmshrink::DictSize size = lmshrink::dict_size_for_ratio(n, m, 1, 0.3, 2.0, {}, 0, "bench");
  at::Generator g = at::detail::createCPUGenerator(7);
  at::Tensor w = torch::randn({n, m}, g, torch::kFloat64);
  at::Tensor d0 = lmshrink::ksvd_initial_dictionary(w, size.atoms, 42);
  Clock::time_point start = Clock::now();
  lmshrink::SparseCode code = lmshrink::batched_omp(d0, w, size.nonzeros);
  double omp = seconds_since(start);
  at::Tensor residual = w - torch::matmul(d0, lmshrink::dense_code(code, size.atoms));
  start = Clock::now();
  lmshrink::ksvd_update_atoms(d0, code, residual, 8);
  std::printf("one batched OMP %.3f s, one atom sweep %.3f s\n", omp, seconds_since(start));
  start = Clock::now();
  lmshrink::DictFit fit = lmshrink::fit_ksvd(w, {size.atoms, size.nonzeros, iterations, 8, 8192, 42});
  double fast = seconds_since(start);
  at::Tensor d = lmshrink::ksvd_initial_dictionary(w, size.atoms, 42);
  std::vector<double> history;
  start = Clock::now();
  lmshrink::reference::naive_ksvd(d, w, size.nonzeros, iterations, &history);
  double naive = seconds_since(start);
  std::printf("k-svd %lldx%lld k=%lld s=%lld, %lld iterations: batched %.3f s (objective %.4g), straightforward %.3f s "
              "(objective %.4g): %.1fx faster\n",
              (long long)n, (long long)m, (long long)size.atoms, (long long)size.nonzeros, (long long)iterations, fast,
              fit.objective.back(), naive, history.back(), naive / fast);
}

void method_times() {
  auto model = lmshrink::load_llama2c(std::string(LMSHRINK_SHARED_DIR) + "/models/stories260K/stories260K.bin");
  lmshrink::Llama2cTokenizer tokenizer(std::string(LMSHRINK_SHARED_DIR) + "/models/stories260K/tok512.bin");
  auto docs = lmshrink::read_corpus(std::string(LMSHRINK_SHARED_DIR) + "/data/tinystories/tinystories-valid-calib.txt");
  at::Tensor tokens = lmshrink::sample_calibration(docs, tokenizer, {"tinystories", "blocks", 256, 512, 0});
  std::vector<lmshrink::BlockStats> stats = lmshrink::collect_all_one_shot(*model, tokens, 8);
  double svd_llm = 0.0;
  for (const char* method : {"svd-llm", "compot", "cospadi"}) {
    auto fresh = lmshrink::load_llama2c(std::string(LMSHRINK_SHARED_DIR) + "/models/stories260K/stories260K.bin");
    lmshrink::CompressOptions options{lmshrink::parse_method(method), 0.3, lmshrink::all_projections(),
                                      lmshrink::Mode::kOneShot, 8};
    lmshrink::CompressResult result = lmshrink::compress_model(*fresh, tokens, options, &stats);
    if (std::string(method) == "svd-llm") svd_llm = result.decomposition_seconds;
    std::printf("stories260K ratio 0.3 %-8s decomposition %.3f s (%.1fx svd-llm)\n", method, result.decomposition_seconds,
                result.decomposition_seconds / svd_llm);
  }
}

}  // namespace

int main(int argc, char** argv) {
  lmshrink::set_progress_quiet(true);
  torch::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
  std::printf("threads %d\n", torch::get_num_threads());
  ksvd_speed(argc > 1 ? std::stoll(argv[1]) : 2);
  method_times();
  return 0;
}
