// Prefill and batch-1 decode throughput of the dense forward pass (Google Benchmark).
// Models: the real stories260K, and a SYNTHETIC seeded random-weight model with Llama-3.2-1B shapes
// (hidden 2048, 16 layers, 32 heads / 8 KV heads, MLP 8192) and a vocabulary reduced to 8192.
// Counters: tokens_per_second over wall-clock time (prefill: prompt tokens; decode: generated tokens).
// KernelDispatch/S: one round trip of the kernel thread pool on 2 threads (an empty parallel_columns call) with the
// workers spinning S microseconds before they sleep, after `gap` microseconds of other work on the calling thread.
//   build/lmshrink_bench [--benchmark_filter=Stories]
#include <benchmark/benchmark.h>

#include <filesystem>

#include "lmshrink/io/llama2c.h"
#include "lmshrink/model/synthetic.h"
#include "lmshrink/runtime/thread_pool.h"

namespace {

const lmshrink::Transformer& stories() {
  static auto model = lmshrink::load_llama2c(std::string(LMSHRINK_SHARED_DIR) + "/models/stories260K/stories260K.bin");
  return *model;
}

const lmshrink::Transformer& synthetic_1b() {
  static auto model = lmshrink::make_synthetic_model(lmshrink::llama32_1b_shapes(8192, 2048), 2024);
  return *model;
}

at::Tensor prompt_ids(int64_t length, int64_t vocab) {
  return torch::randint(3, vocab, {1, length}, at::detail::createCPUGenerator(7), torch::kInt64);
}

void prefill(benchmark::State& state, const lmshrink::Transformer& model, const char* label) {
  torch::NoGradGuard no_grad;
  int64_t length = state.range(0);
  at::Tensor ids = prompt_ids(length, model.config().vocab_size);
  for (auto _ : state) {
    lmshrink::KVCache cache(model.config(), 1, length, torch::TensorOptions().dtype(torch::kFloat32));
    benchmark::DoNotOptimize(model.forward(ids, &cache));
  }
  state.counters["tokens_per_second"] = benchmark::Counter(double(length) * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(label);
}

// Each iteration decodes one token after a 64-token prompt; the cache restarts when full.
void decode(benchmark::State& state, const lmshrink::Transformer& model, const char* label) {
  torch::NoGradGuard no_grad;
  const int64_t prompt = 64, capacity = std::min<int64_t>(model.config().max_position_embeddings, 512);
  at::Tensor ids = prompt_ids(prompt, model.config().vocab_size);
  at::Tensor next = torch::full({1, 1}, 5, torch::kInt64);
  auto cache = std::make_unique<lmshrink::KVCache>(model.config(), 1, capacity, torch::TensorOptions().dtype(torch::kFloat32));
  model.forward(ids, cache.get());
  for (auto _ : state) {
    if (cache->length == capacity) {
      state.PauseTiming();
      cache = std::make_unique<lmshrink::KVCache>(model.config(), 1, capacity, torch::TensorOptions().dtype(torch::kFloat32));
      model.forward(ids, cache.get());
      state.ResumeTiming();
    }
    at::Tensor logits = model.forward(next, cache.get());
    next = logits.argmax(-1);
    benchmark::DoNotOptimize(next);
  }
  state.counters["tokens_per_second"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(label);
}

void BM_PrefillStories260K(benchmark::State& s) { prefill(s, stories(), "real stories260K fp32"); }
void BM_DecodeStories260K(benchmark::State& s) { decode(s, stories(), "real stories260K fp32"); }
void BM_PrefillSyntheticLlama32_1B(benchmark::State& s) { prefill(s, synthetic_1b(), "SYNTHETIC Llama-3.2-1B shapes, vocab 8192, fp32"); }
void BM_DecodeSyntheticLlama32_1B(benchmark::State& s) { decode(s, synthetic_1b(), "SYNTHETIC Llama-3.2-1B shapes, vocab 8192, fp32"); }

BENCHMARK(BM_PrefillStories260K)->Arg(128)->Arg(512)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeStories260K)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PrefillSyntheticLlama32_1B)->Arg(128)->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeSyntheticLlama32_1B)->Iterations(20)->UseRealTime()->Unit(benchmark::kMillisecond);

// Args: spin microseconds, then the microseconds the caller busies itself between calls (decode's other work).
void BM_KernelDispatch(benchmark::State& state) {
  at::set_num_threads(2);
  const int64_t saved_spin = lmshrink::kernel_spin_microseconds();
  lmshrink::set_kernel_spin_microseconds(state.range(0));
  auto gap = std::chrono::microseconds(state.range(1));
  std::atomic<int64_t> items{0};
  for (auto _ : state) {
    state.PauseTiming();
    auto until = std::chrono::steady_clock::now() + gap;
    while (std::chrono::steady_clock::now() < until) {
    }
    state.ResumeTiming();
    lmshrink::parallel_columns(2, 1, [&](int64_t begin, int64_t end) { items += end - begin; });
  }
  benchmark::DoNotOptimize(items.load());
  lmshrink::set_kernel_spin_microseconds(saved_spin);
}
BENCHMARK(BM_KernelDispatch)->ArgsProduct({{0, 200}, {0, 50, 500}})->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  torch::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
