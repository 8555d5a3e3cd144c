// lmshrink export MODEL --dense OUT: a plain Hugging Face checkpoint with every compressed layer
// multiplied back to its dense weight (W = (A B)ᵀ for LowRank), loadable by any framework.
// lmshrink export MODEL --gguf OUT.gguf [--type f32|f16|bf16|q8_0]: the same dense model as one GGUF file that
// llama.cpp runs (io/gguf_export.h).
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "lmshrink/compress/pipeline.h"
#include "lmshrink/io/atomic_file.h"
#include "lmshrink/io/gguf_export.h"
#include "lmshrink/io/input_paths.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/mapped_pages.h"
#include "lmshrink/io/model_loader.h"
#include "lmshrink/model/linear_format.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

namespace {

struct ExportArgs {
  std::string model, tokenizer, dense_out, gguf_out, gguf_type = "auto";
  CheckpointArgs checkpoint;
  bool force = false;
};

// --type auto: the checkpoint's own storage (bf16, f16 or f32), so nothing is rounded that was not already.
GgufTensorType gguf_type_for(const std::string& flag, const ModelConfig& config) {
  if (flag != "auto") return parse_gguf_tensor_type(flag);
  if (config.torch_dtype == "bfloat16") return GgufTensorType::kBF16;
  if (config.torch_dtype == "float16") return GgufTensorType::kF16;
  return GgufTensorType::kF32;
}

void run_gguf_export(const ExportArgs& args) {
  LMSHRINK_CHECK(args.checkpoint.dtype.empty(), "--dtype applies to --dense; a GGUF file takes --type");
  if (args.gguf_type != "auto") parse_gguf_tensor_type(args.gguf_type);  // a bad --type fails before loading
  check_output_file(args.gguf_out);  // a folder fails before loading; the inputs are checked again below
  LMSHRINK_CHECK(args.force || !std::filesystem::exists(args.gguf_out), args.gguf_out,
                 ": exists (pass --force to replace it)");
  LoadedModel loaded = load_model(args.model);
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(args.tokenizer, loaded);
  std::string tokenizer_file = find_tokenizer_path(args.tokenizer, loaded);
  check_output_file(args.gguf_out);  // after loading, so that the model and tokenizer files are noted as inputs
  GgufTensorType type = gguf_type_for(args.gguf_type, loaded.model->config());
  GgufExportResult result = write_gguf_model(*loaded.model, *tokenizer, tokenizer_file, args.gguf_out, type);
  std::string fallback = result.f16_fallback_tensors == 0 ? "" : ", " + std::to_string(result.f16_fallback_tensors) +
                                                                     " matrices in F16 (rows not a multiple of 32)";
  if (result.context_length < loaded.model->config().max_position_embeddings) {
    fallback += ", context_length " + std::to_string(result.context_length) + " (the sliding window: llama.cpp attends "
                "to the whole context, lmshrink refuses sequences beyond the window)";
  }
  std::printf("wrote %s: GGUF v3, architecture %s, %s matrices, %lld bytes, %lld compressed layers multiplied back to "
              "dense%s\n",
              args.gguf_out.c_str(), result.architecture.c_str(), gguf_tensor_type_name(type).c_str(),
              static_cast<long long>(result.bytes), static_cast<long long>(result.densified_layers), fallback.c_str());
}

void run_export(const ExportArgs& args) {
  LMSHRINK_CHECK(args.dense_out.empty() != args.gguf_out.empty(), "export: give exactly one of --dense DIR and --gguf FILE");
  if (!args.gguf_out.empty()) return run_gguf_export(args);
  LMSHRINK_CHECK(args.gguf_type == "auto", "--type applies to --gguf; a --dense checkpoint takes --dtype");
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
  CLI::App* cmd = app.add_subcommand("export", "Export a (compressed) model as a plain dense Hugging Face checkpoint or a GGUF file for llama.cpp");
  cmd->add_option("model", args->model, "compressed or plain model directory (or a GGUF file or llama2.c .bin)")->required();
  cmd->add_option("--dense", args->dense_out, "output directory of a plain HF checkpoint (written atomically)");
  cmd->add_option("--gguf", args->gguf_out, "output .gguf file for llama.cpp (written atomically)");
  cmd->add_option("--type", args->gguf_type, "GGUF matrix type: auto (the checkpoint's own: bf16, f16 or f32; default), f32, f16, bf16 or q8_0");
  cmd->add_option("--tokenizer", args->tokenizer, "tokenizer file (default: beside the model)");
  add_checkpoint_flags(*cmd, args->checkpoint);
  cmd->add_flag("--force", args->force, "replace the output directory or file if it exists");
  return [args] { run_export(*args); };
}

}  // namespace lmshrink::cli
