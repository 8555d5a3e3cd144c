// --kernels and --weights (see kernel_flags.h).
#include "cli/kernel_flags.h"

#include "lmshrink/runtime/inference_prepare.h"
#include "lmshrink/util/error.h"

namespace lmshrink::cli {

void add_kernel_flags(CLI::App& cmd, KernelArgs& args) {
  cmd.add_option("--kernels", args.kernels, "fast (lmshrink's CPU kernels) or reference (the libtorch layers)")
      ->default_val("fast");
  cmd.add_option("--weights", args.weights, "storage of the fast kernels' weights: auto (bf16 for a bfloat16 checkpoint, "
                                            "else fp32), fp32 or bf16")
      ->default_val("auto");
}

void prepare_kernels(const KernelArgs& args, Transformer& model, PreparedKernels& prepared) {
  LMSHRINK_CHECK(args.kernels == "fast" || args.kernels == "reference", "--kernels must be fast or reference, got '",
                 args.kernels, "'");
  LMSHRINK_CHECK(args.weights == "auto" || args.weights == "fp32" || args.weights == "bf16",
                 "--weights must be auto, fp32 or bf16, got '", args.weights, "'");
  if (args.kernels == "reference") {
    LMSHRINK_CHECK(args.weights == "auto" || args.weights == "fp32", "--weights ", args.weights,
                   " needs --kernels fast (the reference layers run float32)");
    prepared.weights = "reference";
    return;
  }
  bool bf16 = args.weights == "bf16" || (args.weights == "auto" && model.config().torch_dtype == "bfloat16");
  WeightStorage storage = bf16 ? WeightStorage::kBFloat16 : WeightStorage::kFloat32;
  prepare_for_inference(model, storage);
  prepared.weights = weight_storage_name(storage);
  prepared.threads.emplace();
}

}  // namespace lmshrink::cli
