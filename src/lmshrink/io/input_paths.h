// The paths this process reads as input (the model, its tokenizer, text files named by flags), so
// that no output can replace, contain or live inside one of them (issue 21: `convert model.bin
// -o . --force` used to delete the checkpoint). Loaders note what they open; AtomicDirectory and
// the CLI's file outputs check against the list and against the working directory.
#pragma once
#include <string>
#include <vector>

namespace lmshrink {

void note_input_path(const std::string& path);
std::vector<std::string> input_paths();

// Throws naming `target` (exit 2) when it is the working directory or one of its parents, or is,
// contains or lies inside a noted input path; also when its parent exists but is not a folder.
void check_output_path(const std::string& target);

// For a single output file (a run record, a report): throws naming `target` when it is a noted input
// or an existing folder.
void check_output_file(const std::string& target);

}  // namespace lmshrink
