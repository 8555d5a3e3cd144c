// The flags of lmshrink compress and the option fields they set (compress_options.h): CompressArgs holds the
// flags given as text (enums, specs, lists) beside a CompressOptions whose numeric fields the flags set directly,
// and the help texts take their defaults from the option structs.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "cli/calibration.h"
#include "cli/commands.h"
#include "lmshrink/compress/compress_options.h"

namespace lmshrink::cli {

// The flags that hold text; compress_options parses them into the enum and integer fields.
struct CompressArgs {
  std::string model, tokenizer, out, method, targets;  // targets: all, or attn for masa
  std::string mode = mode_name(Mode::kOneShot), device = "cpu", json, quantize = "none", alloc, profile, rates, ks;
  std::string accounting = accounting_name(DictionaryOptions{}.accounting);
  std::string masa_groups = masa_spec_name(MasaOptions{}.groups);
  std::string masa_residual_rank = masa_spec_name(MasaOptions{}.residual_rank);
  std::string masa_mix = atom_mix_name(MasaOptions{}.mix);
  std::string profile_metric = profile_metric_name(RocketCompressOptions{}.profile_metric);
  double budget_bytes = 0.0;
  bool force = false, no_error_cap = false;
  CalibArgs calib;
  CheckpointArgs checkpoint;
  CompressOptions options;  // the numeric fields, set by their flags directly
};

// The option fields and the flags that set them, for the library's error messages.
extern const FieldFlags kCompressFlags;

// Registers every flag but the model, --out and --method (cmd_compress.cpp) on cmd.
void add_compress_flags(CLI::App& cmd, CompressArgs& args);

// The options of these flags: text parsed into enums, the targets' default (attn for masa), the alloc field of
// the method. Throws lmshrink::Error naming the field of a bad value.
CompressOptions compress_options(const CompressArgs& args);

// --quantize's value: none 0, int8 8, int4 4; throws naming the flag otherwise.
int quantize_bits(const std::string& name);

}  // namespace lmshrink::cli
