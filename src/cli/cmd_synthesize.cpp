// lmshrink synthesize --shape NAME|custom -o DIR: a seeded random-weight checkpoint at a real shape, as a sharded
// Hugging Face directory labelled synthetic (io/synthesize.h), for reproducing scale and speed figures.
#include <cstdio>

#include "cli/commands.h"
#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/synthesize.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

struct SynthesizeArgs {
  std::string shape, out, dtype = "bf16";
  int64_t hidden = 0, layers = 0, heads = 0, kv_heads = 0, mlp = 0, vocab = 0, seed = 2024;
  CheckpointArgs checkpoint;
  bool force = false;
};

// A named shape with the sizes given on the command line replacing its own; custom needs all but --kv-heads.
ModelConfig chosen_shape(const SynthesizeArgs& a) {
  bool custom = a.shape == "custom";
  ModelConfig c = custom ? ModelConfig{} : synthetic_shape(a.shape);
  if (custom) {
    LMSHRINK_CHECK(a.hidden > 0 && a.layers > 0 && a.heads > 0 && a.mlp > 0 && a.vocab > 0,
                   "--shape custom: give --hidden, --layers, --heads, --mlp and --vocab (and optionally --kv-heads)");
    c.max_position_embeddings = 8192;
    c.rope_theta = 500000.0;
  }
  auto set = [](int64_t value, int64_t& field, const char* flag) {
    LMSHRINK_CHECK(value >= 0, flag, ": must be positive, got ", value);
    if (value > 0) field = value;
  };
  set(a.hidden, c.hidden_size, "--hidden");
  set(a.layers, c.num_layers, "--layers");
  set(a.heads, c.num_heads, "--heads");
  set(a.mlp, c.intermediate_size, "--mlp");
  set(a.vocab, c.vocab_size, "--vocab");
  set(a.kv_heads, c.num_kv_heads, "--kv-heads");
  if (c.num_kv_heads == 0) c.num_kv_heads = c.num_heads;
  if (custom || a.hidden > 0 || a.heads > 0) c.head_dim = c.hidden_size / c.num_heads;
  LMSHRINK_CHECK(c.num_heads > 0 && c.hidden_size % c.num_heads == 0, "--hidden ", c.hidden_size,
                 " must be a multiple of --heads ", c.num_heads);
  LMSHRINK_CHECK(c.num_kv_heads > 0 && c.num_heads % c.num_kv_heads == 0, "--heads ", c.num_heads,
                 " must be a multiple of --kv-heads ", c.num_kv_heads);
  return c;
}

void run_synthesize(const SynthesizeArgs& args) {
  LMSHRINK_CHECK(args.seed >= 0, "--seed: must be a non-negative integer, got ", args.seed);
  ModelConfig config = chosen_shape(args);
  SynthesizeOptions options;
  options.dtype = parse_checkpoint_dtype(args.dtype, "--dtype");
  options.seed = static_cast<uint64_t>(args.seed);
  options.shard_bytes = parse_byte_size(args.checkpoint.shard_size, "--shard-size");
  AtomicDirectory out(args.out, args.force);
  int64_t bytes = write_synthetic_checkpoint(config, out.staging_path(), options);
  out.commit();
  std::printf("wrote %s: SYNTHETIC seeded random weights (seed %lld), %s, hidden %lld, %lld layers, %lld/%lld heads, MLP %lld, "
              "vocab %lld, %s, %lld bytes\n",
              args.out.c_str(), static_cast<long long>(args.seed), config.architecture.c_str(),
              static_cast<long long>(config.hidden_size), static_cast<long long>(config.num_layers),
              static_cast<long long>(config.num_heads), static_cast<long long>(config.num_kv_heads),
              static_cast<long long>(config.intermediate_size), static_cast<long long>(config.vocab_size),
              checkpoint_dtype_name(options.dtype).c_str(), static_cast<long long>(bytes));
}

}  // namespace

Command add_synthesize(CLI::App& app) {
  auto a = std::make_shared<SynthesizeArgs>();
  CLI::App* cmd = app.add_subcommand("synthesize", "Write a seeded random-weight checkpoint at a real model's shape (labelled "
                                                   "synthetic), for scale and speed measurements");
  cmd->add_option("--shape", a->shape, "llama-3.2-1b, llama-3.1-8b, qwen3-8b, qwen2-7b, mistral-7b or custom")->required();
  cmd->add_option("-o,--out", a->out, "output directory (written atomically; must not exist unless --force)")->required();
  cmd->add_option("--hidden", a->hidden, "hidden size (custom, or replaces the shape's)");
  cmd->add_option("--layers", a->layers, "number of decoder blocks");
  cmd->add_option("--heads", a->heads, "attention heads");
  cmd->add_option("--kv-heads", a->kv_heads, "key/value heads (default: --heads for custom)");
  cmd->add_option("--mlp", a->mlp, "MLP intermediate size");
  cmd->add_option("--vocab", a->vocab, "vocabulary size (e.g. reduce a real shape's 128256 to save disk)");
  cmd->add_option("--dtype", a->dtype, "bf16 (default), f16 or f32");
  cmd->add_option("--shard-size", a->checkpoint.shard_size, "largest safetensors shard, e.g. 5GB (default), 500MB");
  cmd->add_option("--seed", a->seed, "random seed (default 2024)")->check(at_least(0));
  cmd->add_flag("--force", a->force, "replace the output directory if it exists");
  return [a] { run_synthesize(*a); };
}

}  // namespace lmshrink::cli
