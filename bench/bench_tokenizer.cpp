// Single-threaded encoding throughput of HfTokenizer on WikiText-2 test (wiki.test.raw, 1.29 MB),
// with the Llama-3 and Qwen3 tokenizer.json files from ../shared/tokenizers (Google Benchmark).
// Warm: the per-pre-token BPE cache is kept across iterations (steady state for a long corpus);
// Cold: the cache is cleared before every iteration (every distinct pre-token runs the merge loop).
// Counters: MB_per_second (input bytes, 1e6 per MB, over CPU time), tokens.
//   build/lmshrink_bench_tokenizer [--benchmark_filter=Llama3]
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "lmshrink/tokenizer/hf_tokenizer.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

const std::string& wikitext_test() {
  static const std::string text = read_file(std::string(LMSHRINK_SHARED_DIR) + "/data/wikitext2/wiki.test.raw");
  return text;
}

const lmshrink::HfTokenizer& tokenizer(const std::string& name) {
  static const lmshrink::HfTokenizer llama3(std::string(LMSHRINK_SHARED_DIR) + "/tokenizers/llama3/tokenizer.json");
  static const lmshrink::HfTokenizer qwen3(std::string(LMSHRINK_SHARED_DIR) + "/tokenizers/qwen3/tokenizer.json");
  return name == "llama3" ? llama3 : qwen3;
}

void encode_wikitext(benchmark::State& state, const std::string& name, bool cold_cache) {
  const std::string& text = wikitext_test();
  if (text.empty()) {
    state.SkipWithError("wiki.test.raw missing under LMSHRINK_SHARED_DIR/data/wikitext2");
    return;
  }
  const lmshrink::HfTokenizer& tok = tokenizer(name);
  size_t token_count = 0;
  for (auto _ : state) {
    if (cold_cache) {
      state.PauseTiming();
      tok.clear_cache();
      state.ResumeTiming();
    }
    std::vector<int32_t> ids = tok.encode(text, false, false);
    token_count = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["MB_per_second"] =
      benchmark::Counter(static_cast<double>(text.size()) / 1e6, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens"] = static_cast<double>(token_count);
}

void BM_Llama3EncodeWikitextWarm(benchmark::State& state) { encode_wikitext(state, "llama3", false); }
void BM_Llama3EncodeWikitextCold(benchmark::State& state) { encode_wikitext(state, "llama3", true); }
void BM_Qwen3EncodeWikitextWarm(benchmark::State& state) { encode_wikitext(state, "qwen3", false); }
void BM_Qwen3EncodeWikitextCold(benchmark::State& state) { encode_wikitext(state, "qwen3", true); }

BENCHMARK(BM_Llama3EncodeWikitextWarm)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Llama3EncodeWikitextCold)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Qwen3EncodeWikitextWarm)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Qwen3EncodeWikitextCold)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
