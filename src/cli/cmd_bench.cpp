// lmshrink bench MODEL: prefill and decode speed of a model on the fast CPU kernels, against the memory-bandwidth
// ceiling (issue 11). MODEL is a checkpoint path, or synthetic:llama-3.2-1b / synthetic:tiny; a synthetic model can
// take any method's compressed format at a ratio (--format, --ratio; synthetic_formats.h).
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "cli/commands.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/runtime/synthetic_formats.h"
#include "lmshrink/runtime/fused_first_factors.h"
#include "lmshrink/runtime/inference_prepare.h"
#include "lmshrink/runtime/memory_bandwidth.h"
#include "lmshrink/runtime/thread_pool.h"
#include "lmshrink/runtime/throughput.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

struct BenchArgs {
  std::string model, format = "dense", weights = "fp32", kernels = "fast", json;
  double ratio = 0.0;
  int64_t bandwidth_mib = 512;
  bool portable = false, no_fuse = false, keep_torch_threads = false;
  int64_t spin_us = 200;
  uint64_t seed = 2024;
  ThroughputOptions throughput;
};

std::unique_ptr<Transformer> bench_model(const BenchArgs& args, std::string& path) {
  if (is_synthetic_spec(args.model)) {
    path = args.model;
    std::optional<WeightStorage> kernels;  // fast: pack each projection as it is built
    if (args.kernels == "fast") kernels = parse_weight_storage(args.weights);
    return make_synthetic_from_spec(args.model, args.seed, args.format, args.ratio, kernels);
  }
  LMSHRINK_CHECK(args.format == "dense", "--format ", args.format,
                 " builds random layers and applies only to synthetic:... models; bench a compressed checkpoint by its path");
  LoadedModel loaded = load_model(args.model);
  path = loaded.path;
  return std::move(loaded.model);
}

nlohmann::json bench_record(const BenchArgs& args, const std::string& path, const Transformer& model,
                            const ThroughputResult& r, const BandwidthResult& bandwidth, int64_t fused_groups) {
  int64_t bytes_per_token = r.weight_bytes_per_token + r.kv_bytes_per_token;
  double ceiling = bandwidth.copy_bytes_per_second / bytes_per_token;
  double read_ceiling = bandwidth.read_bytes_per_second / bytes_per_token;
  return {{"command", "bench"}, {"model", path}, {"synthetic_model", model.config().source_format == "synthetic"},
          {"format", args.format}, {"ratio", args.ratio}, {"weights", args.weights}, {"kernels", args.kernels},
          {"fused_groups", fused_groups}, {"isa", use_avx2_kernels() ? "avx2+fma" : "portable"}, {"device", "cpu"},
          {"threads", kernel_threads()}, {"torch_threads", at::get_num_threads()},
          {"kernel_spin_us", kernel_spin_microseconds()},
          {"omp_wait_policy", std::getenv("OMP_WAIT_POLICY") ? std::getenv("OMP_WAIT_POLICY") : ""},
          {"prompt_tokens", args.throughput.prompt_tokens}, {"gen_tokens", args.throughput.gen_tokens},
          {"repeats", args.throughput.repeats}, {"prefill_seconds", r.prefill_seconds},
          {"prefill_tokens_per_second", r.prefill_tokens_per_second}, {"time_to_first_token_seconds", r.first_token_seconds},
          {"decode_seconds", r.decode_seconds}, {"decode_tokens_per_second", r.decode_tokens_per_second},
          {"weight_bytes_per_token", r.weight_bytes_per_token}, {"kv_bytes_per_token", r.kv_bytes_per_token},
          {"bytes_per_token", bytes_per_token}, {"peak_rss_bytes", r.peak_rss_bytes},
          {"copy_bandwidth_bytes_per_second", bandwidth.copy_bytes_per_second},
          {"read_bandwidth_bytes_per_second", bandwidth.read_bytes_per_second},
          {"bandwidth_array_bytes", bandwidth.array_bytes}, {"decode_ceiling_tokens_per_second", ceiling},
          {"fraction_of_ceiling", ceiling > 0 ? r.decode_tokens_per_second / ceiling : 0.0},
          {"decode_read_ceiling_tokens_per_second", read_ceiling},
          {"fraction_of_read_ceiling", read_ceiling > 0 ? r.decode_tokens_per_second / read_ceiling : 0.0},
          {"date", now_iso8601()}};
}

void print_summary(const nlohmann::json& j) {
  std::printf("model %s%s, format %s, weights %s, kernels %s (%s, %lld fused groups), %d threads\n",
              j["model"].get<std::string>().c_str(), j["synthetic_model"].get<bool>() ? " (SYNTHETIC random weights)" : "",
              j["format"].get<std::string>().c_str(), j["weights"].get<std::string>().c_str(),
              j["kernels"].get<std::string>().c_str(), j["isa"].get<std::string>().c_str(),
              static_cast<long long>(j["fused_groups"].get<int64_t>()), j["threads"].get<int>());
  std::printf("prefill %lld tokens: %.1f tokens/s, time to first token %.3f s\n",
              static_cast<long long>(j["prompt_tokens"].get<int64_t>()), j["prefill_tokens_per_second"].get<double>(),
              j["time_to_first_token_seconds"].get<double>());
  std::printf("decode %lld tokens: %.2f tokens/s, %.1f MB read per token, peak RSS %.1f MB\n",
              static_cast<long long>(j["gen_tokens"].get<int64_t>()), j["decode_tokens_per_second"].get<double>(),
              j["bytes_per_token"].get<int64_t>() / 1e6, j["peak_rss_bytes"].get<int64_t>() / 1e6);
  if (j["copy_bandwidth_bytes_per_second"].get<double>() > 0) {
    std::printf("copy bandwidth %.2f GB/s: ceiling %.2f tokens/s, achieved %.0f %%\n",
                j["copy_bandwidth_bytes_per_second"].get<double>() / 1e9, j["decode_ceiling_tokens_per_second"].get<double>(),
                100.0 * j["fraction_of_ceiling"].get<double>());
    std::printf("read bandwidth %.2f GB/s: ceiling %.2f tokens/s, achieved %.0f %%\n",
                j["read_bandwidth_bytes_per_second"].get<double>() / 1e9,
                j["decode_read_ceiling_tokens_per_second"].get<double>(),
                100.0 * j["fraction_of_read_ceiling"].get<double>());
  }
}

void run_bench(const BenchArgs& args) {
  if (args.portable) force_portable_kernels(true);  // else as LMSHRINK_KERNELS says
  LMSHRINK_CHECK(args.spin_us >= 0, "--spin-us must be >= 0, got ", args.spin_us);
  set_kernel_spin_microseconds(args.spin_us);
  LMSHRINK_CHECK(args.kernels == "fast" || args.kernels == "reference", "--kernels must be fast or reference, got '",
                 args.kernels, "'");
  WeightStorage storage = parse_weight_storage(args.weights);
  LMSHRINK_CHECK(args.kernels == "fast" || storage == WeightStorage::kFloat32,
                 "--weights bf16 needs --kernels fast (the reference path runs float32)");
  LMSHRINK_CHECK(args.bandwidth_mib == 0 || args.bandwidth_mib >= 1, "--bandwidth-mib must be 0 (skip) or >= 1");
  std::string path;
  std::unique_ptr<Transformer> model = bench_model(args, path);
  check_record_file(args.json);
  check_throughput_options(model->config(), args.throughput);
  int64_t fused_groups = 0;
  if (args.kernels == "fast") {
    prepare_for_inference(*model, storage, /*fuse_shared_inputs=*/false);
    if (!args.no_fuse) fused_groups = fuse_same_input_layers(*model);
  }
  std::fprintf(stderr, "bench: measuring %lld repeats...\n", static_cast<long long>(args.throughput.repeats));
  std::optional<KernelThreadsScope> one_torch_thread;  // thread_pool.h: no OpenMP team spinning beside the kernels
  if (args.kernels == "fast" && !args.keep_torch_threads) one_torch_thread.emplace();
  ThroughputResult result = measure_throughput(*model, args.throughput);
  BandwidthResult bandwidth;
  if (args.bandwidth_mib > 0) bandwidth = measure_memory_bandwidth(args.bandwidth_mib << 20, 5);
  nlohmann::json record = bench_record(args, path, *model, result, bandwidth, fused_groups);
  print_summary(record);
  if (!args.json.empty()) write_json_file(args.json, record);
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Prefill/decode speed, memory and bandwidth ceiling of a model (CPU)");
  cmd->add_option("model", args->model,
                  "Hugging Face directory, GGUF file, llama2.c .bin, compressed model directory, or synthetic:llama-3.2-1b / "
                  "synthetic:tiny (seeded random weights)")
      ->required();
  cmd->add_option("--prompt-tokens", args->throughput.prompt_tokens, "prompt length P")->check(at_least(1));
  cmd->add_option("--gen-tokens", args->throughput.gen_tokens, "tokens decoded one at a time, G")->check(at_least(1));
  cmd->add_option("--repeats", args->throughput.repeats, "timed runs (medians are reported)")->check(at_least(1));
  cmd->add_option("--weights", args->weights, "weight storage of the kernels: fp32 or bf16")->default_val("fp32");
  cmd->add_option("--kernels", args->kernels, "fast (lmshrink's kernels) or reference (the libtorch layers)")
      ->default_val("fast");
  cmd->add_flag("--no-fuse", args->no_fuse,
               "keep q|k|v and gate|up as separate products (by default their first factors are fused)");
  cmd->add_option("--spin-us", args->spin_us,
                  "microseconds the kernel threads spin for the next call before they sleep (0: sleep at once)")
      ->default_val(200);
  cmd->add_flag("--keep-torch-threads", args->keep_torch_threads,
                "run libtorch's operations with --threads too while the kernels run (by default one: its OpenMP "
                "threads would spin on the kernels' cores); for comparison");
  cmd->add_flag("--portable-kernels", args->portable, "use the portable C++ kernels even where AVX2+FMA ones would run");
  cmd->add_option("--format", args->format,
                  "synthetic models only: replace the projections with random layers in this method's format and sizes: "
                  "dense, svd, asvd, svd-llm, cospadi, compot, rocket, masa")
      ->default_val("dense");
  cmd->add_option("--ratio", args->ratio, "with --format: the fraction of the projections' parameters removed");
  cmd->add_option("--bandwidth-mib", args->bandwidth_mib,
                  "array size of the copy and read bandwidth tests (0: skip them)")
      ->default_val(512);
  cmd->add_option("--seed", args->seed, "seed of the synthetic weights")->default_val(2024);
  cmd->add_option("--json", args->json, "write the JSON record here");
  return [args] { run_bench(*args); };
}

}  // namespace lmshrink::cli
