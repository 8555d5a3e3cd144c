// lmshrink export MODEL --dense OUT: a plain Hugging Face checkpoint with every compressed layer
// multiplied back to its dense weight (W = (A B)ᵀ for LowRank), loadable by any framework.
#include <cstdio>

#include "cli/commands.h"
#include "lmshrink/compress/pipeline.h"
#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/model/linear_format.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

struct ExportArgs {
  std::string model, tokenizer, dense_out;
  CheckpointArgs checkpoint;
  bool force = false;
};

void run_export(const ExportArgs& args) {
  LoadedModel loaded = load_model(args.model);
  std::string tokenizer_file = find_tokenizer_path(args.tokenizer, loaded);
  load_tokenizer(args.tokenizer, loaded);  // checks it fits the model
  CheckpointFormat format = checkpoint_format(args.checkpoint);
  LMSHRINK_CHECK(loaded.model->lm_head().format() == "dense", args.model, ": a compressed lm_head cannot be exported yet");
  AtomicDirectory out(args.dense_out, args.force);
  HfModelWriter writer(*loaded.model, out.staging_path(), format);
  int64_t densified_layers = 0;
  for (int64_t layer = 0; layer < loaded.model->config().num_layers; ++layer) {  // one block in memory at a time
    TransformerBlock& block = loaded.model->mutable_blocks()[layer];
    for (const std::string& projection : all_projections()) {
      std::unique_ptr<Linear>& slot = projection_slot(block, projection);
      if (slot->format() == "dense") continue;
      slot = densified(*slot);
      ++densified_layers;
    }
    writer.write_block(layer);
    release_block(block, writer.block_linear_bytes(layer));
    release_mapped_pages();
  }
  int64_t bytes = writer.finish();
  copy_tokenizer_files(tokenizer_file, out.staging_path());
  out.commit();
  std::printf("wrote %s: plain HF checkpoint (%s, %lld bytes), %lld compressed layers multiplied back to dense\n",
              args.dense_out.c_str(), checkpoint_dtype_name(writer.dtype()).c_str(), static_cast<long long>(bytes),
              static_cast<long long>(densified_layers));
}

}  // namespace

Command add_export(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Export a (compressed) model as a plain dense Hugging Face checkpoint");
  cmd->add_option("model", args->model, "compressed or plain model directory (or llama2.c .bin)")->required();
  cmd->add_option("--dense", args->dense_out, "output directory (written atomically)")->required();
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer file (default: beside the model)");
  add_checkpoint_flags(*cmd, args->checkpoint);
  cmd->add_flag("--force", args->force, "replace the output directory if it exists");
  return [args] { run_export(*args); };
}

}  // namespace lmshrink::cli
