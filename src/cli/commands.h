// The lmshrink subcommands. Each registers its flags on the CLI11 app and returns the function that
// runs it; the functions are thin calls into the library and throw lmshrink::Error on bad input.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "lmshrink/eval/run_record.h"  // now_iso8601
#include "lmshrink/io/hf_model.h"        // CheckpointFormat

namespace lmshrink::cli {

using Command = std::function<void()>;

Command add_generate(CLI::App& app);
Command add_eval(CLI::App& app);
Command add_inspect(CLI::App& app);
Command add_tokenize(CLI::App& app);
Command add_convert(CLI::App& app);
Command add_compress(CLI::App& app);
Command add_export(CLI::App& app);
Command add_profile(CLI::App& app);
Command add_heal(CLI::App& app);
Command add_prune(CLI::App& app);
Command add_report(CLI::App& app);
Command add_train(CLI::App& app);
Command add_bench(CLI::App& app);
Command add_synthesize(CLI::App& app);

// --dtype and --shard-size of every command that writes a checkpoint (io/hf_model.h CheckpointFormat).
struct CheckpointArgs {
  std::string dtype;                 // empty: the input's
  std::string shard_size = "5GB";
};
void add_checkpoint_flags(CLI::App& cmd, CheckpointArgs& args);

// A flag validator: a finite number >= `low`, with a short message ("must be an integer >= 1, got -5").
CLI::Validator at_least(double low);
CheckpointFormat checkpoint_format(const CheckpointArgs& args);
// Bytes of the checkpoint files of a model path: a llama2.c file, or the *.safetensors of a folder.
int64_t checkpoint_file_bytes(const std::string& path);

// Writes a JSON record atomically (temp file in the same folder, then rename).
void write_json_file(const std::string& path, const nlohmann::json& record);

// Refuses a record file (`--json`, `profile -o`) before the work when it names an input or a folder, so a long run
// does not end in that error; an empty path (no record asked for) passes.
void check_record_file(const std::string& path);
// Reads a whole file; throws when it is missing or (when non_empty) empty.
std::string read_text_file(const std::string& path, const std::string& flag, bool non_empty = true);

// Library errors name option fields ("ratio", "masa.groups"); each command maps them back to its flags. FieldFlags:
// (field, flag) pairs. with_flag_names replaces every whole field name in a message by its flag.
using FieldFlags = std::vector<std::pair<std::string, std::string>>;
std::string with_flag_names(const std::string& message, const FieldFlags& flags);
// Runs `run`; an lmshrink::Error it throws is rethrown with field names replaced by flags.
void run_with_flag_names(const std::function<void()>& run, const FieldFlags& flags);

}  // namespace lmshrink::cli
