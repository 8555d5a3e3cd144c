// lmshrink generate MODEL: text from a model, streamed to stdout (greedy at --temperature 0).
#include <cstdio>

#include "cli/commands.h"
#include "cli/kernel_flags.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/runtime/generate.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

struct GenerateArgs {
  std::string model, tokenizer, prompt, json;
  bool prompt_logits = false;
  KernelArgs kernels;
  int64_t max_tokens = 256;
  int64_t steps = 0;
  SamplingOptions sampling;
};

void print_piece(const std::string& piece) {  // run.c's safe_printf: skip unprintable single bytes
  if (piece.size() == 1) {
    unsigned char c = static_cast<unsigned char>(piece[0]);
    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') return;
  }
  std::fwrite(piece.data(), 1, piece.size(), stdout);
  std::fflush(stdout);
}

void run_generate(const GenerateArgs& args) {
  LoadedModel loaded = load_model(args.model);
  PreparedKernels kernels;
  prepare_kernels(args.kernels, *loaded.model, kernels);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(args.tokenizer, loaded);
  check_record_file(args.json);
  std::vector<int32_t> prompt = tokenizer->encode(args.prompt, true, false);
  int64_t new_tokens = args.steps > 0 ? new_tokens_for_steps(args.steps, prompt.size()) : args.max_tokens;
  print_piece(tokenizer->decode(prompt));
  GenerationResult result = generate(*loaded.model, prompt, new_tokens, args.sampling,
                                     [&](int32_t prev, int32_t token) { print_piece(tokenizer->decode_token(prev, token)); });
  std::printf("\n");
  int64_t generated = static_cast<int64_t>(result.tokens.size()) - result.prompt_tokens;
  double decode_rate = result.decode_seconds > 0 ? generated / result.decode_seconds : 0.0;
  const std::string& weights_name = kernels.weights;
  std::fprintf(stderr, "generated %lld tokens; prefill %lld tokens in %.3f s; decode %.1f tokens/s (%s weights)%s\n",
               static_cast<long long>(generated), static_cast<long long>(result.prompt_tokens), result.prefill_seconds,
               decode_rate, weights_name.c_str(),
               loaded.model->config().source_format == "synthetic" ? " (synthetic model)" : "");
  if (!args.json.empty()) {
    nlohmann::json record = {{"command", "generate"}, {"model", loaded.path}, {"prompt", args.prompt},
                             {"kernels", args.kernels.kernels}, {"weights", weights_name},
                             {"temperature", args.sampling.temperature}, {"top_p", args.sampling.top_p},
                             {"seed", args.sampling.seed}, {"prompt_tokens", result.prompt_tokens},
                             {"tokens", result.tokens}, {"text", tokenizer->decode(result.tokens)},
                             {"prefill_seconds", result.prefill_seconds}, {"decode_seconds", result.decode_seconds},
                             {"decode_tokens_per_second", decode_rate}, {"date", now_iso8601()}};
    if (args.prompt_logits) record["prompt_logits"] = result.prompt_logits;
    write_json_file(args.json, record);
  }
}

}  // namespace

Command add_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text from a model (streams to stdout)");
  cmd->add_option("model", args->model, "Hugging Face directory, GGUF file, llama2.c .bin file, or a directory holding one")->required();
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer file (default: tokenizer.bin / tok*.bin beside the model)");
  cmd->add_option("--prompt", args->prompt, "prompt text")->default_val("Once upon a time");
  cmd->add_option("--max-tokens", args->max_tokens, "new tokens to generate")->check(at_least(0));
  cmd->add_option("--steps", args->steps, "llama2.c -n: total positions incl. the prompt (overrides --max-tokens)")
      ->check(at_least(1));
  cmd->add_option("--temperature", args->sampling.temperature, "0 = greedy")->check(at_least(0));
  cmd->add_option("--top-p", args->sampling.top_p, "nucleus sampling threshold in (0, 1); other values: plain sampling");
  cmd->add_option("--seed", args->sampling.seed, "sampling seed (non-zero)")->check(at_least(1));
  add_kernel_flags(*cmd, args->kernels);
  cmd->add_option("--json", args->json, "write a JSON record here");
  cmd->add_flag("--prompt-logits", args->prompt_logits, "add the next-token logits after the prompt to the --json record");
  return [args] { run_generate(*args); };
}

}  // namespace lmshrink::cli
