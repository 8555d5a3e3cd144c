// Library errors name the option field they concern ("seq_len: expected at least 2, got 0"); the CLI shows the flag
// the user typed instead ("--seq-len: expected at least 2, got 0"). A message that starts with a field name followed
// by ':' or " must" gets the flag when the running subcommand (or the app) has one by that name (field "seq_len" or
// "masa.mix" -> flag "--seq-len" or "--masa-mix"); every other message is left as it is.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace lmshrink::cli {

std::string with_flag_names(const CLI::App& app, const std::string& message);

}  // namespace lmshrink::cli
