// ROCKET stage times (issue 7): the knapsack alone at the paper's scale (112 matrices × 14 rates + the uncompressed
// option, precision 50,000; goal < 2 s), and profile + allocation + compression at ratio 0.3 for
//   - the real stories260K (TinyStories calibration, 256 × 512 tokens, default grid: 14 rates × 21 ks), and
//   - ONE block of a SYNTHETIC seeded random-weight model with Llama-3.2-1B shapes (hidden 2048, MLP 8192, 32/8
//     heads, vocabulary 8192; random calibration tokens, n × 1024), on a reduced grid (rates 0.1, 0.3, 0.5, 0.7;
//     ks 1, 2) by default, with the per-candidate time to extrapolate to the full grid; "full" runs the full grid.
//   build/lmshrink_bench_rocket [synthetic_samples (default 8)] [small|full (default small)]
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "lmshrink/calib/corpus.h"
#include "lmshrink/calib/sampling.h"
#include "lmshrink/calib/streaming.h"
#include "lmshrink/compress/mckp.h"
#include "lmshrink/compress/pipeline.h"
#include "lmshrink/compress/rocket_alloc.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/model/synthetic.h"
#include "lmshrink/tokenizer/llama2c_tokenizer.h"
#include "lmshrink/util/progress.h"

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void bench_knapsack() {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<lmshrink::KnapsackItem> items;
  double total = 0.0;
  for (int m = 0; m < 112; ++m) {
    double params = m % 7 < 4 ? 4.2e6 : 16.8e6;
    total += params;
    lmshrink::KnapsackItem item{{0.0, 0.0, 0.0}};
    for (int r = 1; r <= 14; ++r) item.push_back({0.05 * r, 0.05 * r * params, 0.05 * r * r * (0.5 + unit(rng))});
    items.push_back(item);
  }
  Clock::time_point start = Clock::now();
  lmshrink::KnapsackSolution s = lmshrink::solve_mckp(items, total, 0.3 * total, 50000);
  std::printf("knapsack: 112 matrices x 15 options x 50000 steps: %.3f s (removed %.5f of the target 0.3)\n", since(start),
              s.removed / total);
}

void bench_model(const char* label, lmshrink::Transformer& model, const at::Tensor& tokens, const lmshrink::ProfileGrid& grid) {
  lmshrink::CompressOptions options{lmshrink::Method::kRocket, 0.3, lmshrink::all_projections(), lmshrink::Mode::kOneShot, 8};
  options.rocket.alloc = lmshrink::Alloc::kMckp;
  options.rocket.grid = grid;
  Clock::time_point start = Clock::now();
  std::vector<lmshrink::BlockStats> stats = lmshrink::collect_all_one_shot(model, tokens, 8);
  double calibration = since(start);
  start = Clock::now();
  lmshrink::ProfileSettings settings;
  settings.grid = grid;
  auto profile = lmshrink::profile_model(model, tokens, options.targets, settings, 8, &stats);
  double profiling = since(start);
  start = Clock::now();
  lmshrink::RocketAllocation allocation = lmshrink::allocate_rocket(profile, 0.3, {lmshrink::Alloc::kMckp, true, true, 50000});
  double allocating = since(start);
  lmshrink::CompressResult result = lmshrink::compress_model(model, tokens, options, &stats, &profile);
  size_t candidates = profile.size() * grid.rates.size() * grid.ks.size();
  std::printf("%-40s calibration %7.2f s  profile %8.2f s (%zu candidates, %.3f s each)  allocation %.3f s  "
              "compression %7.2f s  allocated ratio %.4f\n",
              label, calibration, profiling, candidates, profiling / candidates, allocating, result.decomposition_seconds,
              allocation.removed_ratio());
}

}  // namespace

int main(int argc, char** argv) {
  lmshrink::set_progress_quiet(true);
  torch::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));  // as the CLI does
  int64_t synthetic_samples = argc > 1 ? std::stoll(argv[1]) : 8;
  bool full_grid = argc > 2 && std::string(argv[2]) == "full";
  std::string shared = LMSHRINK_SHARED_DIR;
  std::printf("threads %d\n", torch::get_num_threads());
  bench_knapsack();
  {
    auto model = lmshrink::load_llama2c(shared + "/models/stories260K/stories260K.bin");
    lmshrink::Llama2cTokenizer tokenizer(shared + "/models/stories260K/tok512.bin");
    auto docs = lmshrink::read_corpus(shared + "/data/tinystories/tinystories-valid-calib.txt");
    at::Tensor tokens = lmshrink::sample_calibration(docs, tokenizer, {"tinystories", "blocks", 256, 512, 0});
    bench_model("stories260K (real), 5 blocks, full grid", *model, tokens, lmshrink::default_profile_grid());
  }
  {
    lmshrink::ModelConfig config = lmshrink::llama32_1b_shapes(8192, 2048);
    config.num_layers = 1;
    auto model = lmshrink::make_synthetic_model(config, 2024);
    at::Tensor tokens = torch::randint(3, config.vocab_size, {synthetic_samples, 1024},
                                       at::detail::createCPUGenerator(7), torch::kInt64);
    lmshrink::ProfileGrid grid = full_grid ? lmshrink::default_profile_grid() : lmshrink::ProfileGrid{{0.1, 0.3, 0.5, 0.7}, {1.0, 2.0}};
    bench_model(full_grid ? "SYNTHETIC 1B shapes, 1 block, full grid" : "SYNTHETIC 1B shapes, 1 block, 4x2 grid", *model,
                tokens, grid);
  }
  return 0;
}
