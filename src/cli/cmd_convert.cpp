// lmshrink convert MODEL.bin -o OUT: llama2.c checkpoint + tokenizer.bin -> Hugging Face directory.
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "lmshrink/io/llama2c_convert.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

struct ConvertArgs {
  std::string model, tokenizer, out;
  CheckpointArgs checkpoint;
  bool force = false;
};

void run_convert(const ConvertArgs& args) {
  LoadedModel loaded = load_model(args.model);
  LMSHRINK_CHECK(loaded.model->config().source_format == "llama2c", args.model,
                 ": convert reads llama2.c checkpoints; this is already a Hugging Face directory");
  std::string tokenizer = find_tokenizer_path(args.tokenizer, loaded);
  LMSHRINK_CHECK(std::filesystem::path(tokenizer).extension() == ".bin", tokenizer,
                 ": convert needs the llama2.c tokenizer.bin of the checkpoint, not a tokenizer.json");
  CheckpointFormat format = checkpoint_format(args.checkpoint);
  int64_t merges = convert_llama2c_to_hf(loaded.path, tokenizer, args.out, args.force, format);
  std::printf("wrote %s: config.json, safetensors (%s), tokenizer.json (%lld merges), tokenizer_config.json\n",
              args.out.c_str(), checkpoint_dtype_name(written_dtype(*loaded.model, format)).c_str(),
              static_cast<long long>(merges));
}

}  // namespace

Command add_convert(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  CLI::App* cmd = app.add_subcommand("convert", "Convert a llama2.c checkpoint to a Hugging Face Llama directory");
  cmd->add_option("model", args->model, "llama2.c .bin file or a directory holding one")->required();
  cmd->add_option("--tokenizer", args->tokenizer, "llama2.c tokenizer.bin (default: beside the model)");
  cmd->add_option("-o,--out", args->out, "output directory (written atomically; must not exist)")->required();
  add_checkpoint_flags(*cmd, args->checkpoint);
  cmd->add_flag("--force", args->force, "replace the output directory if it exists");
  return [args] { run_convert(*args); };
}

}  // namespace lmshrink::cli
