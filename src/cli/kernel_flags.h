// --kernels and --weights of the commands that run a model forward (generate, eval): fast runs lmshrink's CPU kernels
// (runtime/inference_prepare.h) with every projection packed once, reference the libtorch layers.
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "lmshrink/model/transformer.h"
#include "lmshrink/runtime/thread_pool.h"

namespace lmshrink::cli {

struct KernelArgs {
  std::string kernels = "fast";  // fast | reference
  std::string weights = "auto";  // auto | fp32 | bf16: storage of the packed weights
};

void add_kernel_flags(CLI::App& cmd, KernelArgs& args);

// What a command runs on after prepare_kernels: the packed model's storage name ("fp32", "bf16") or "reference".
struct PreparedKernels {
  std::string weights;
  std::optional<KernelThreadsScope> threads;  // fast: libtorch at one thread while the kernels run (thread_pool.h)
};

// Checks the flags and, for fast, packs the model's projections (releasing their mapped pages: one copy in memory).
// --weights auto: bf16 for a bfloat16 checkpoint (its values are exact in bf16, and the packed copy is half the
// size), float32 otherwise (float16 values are not all representable in bf16).
void prepare_kernels(const KernelArgs& args, Transformer& model, PreparedKernels& prepared);

}  // namespace lmshrink::cli
