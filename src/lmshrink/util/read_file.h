// Whole-file reads for the readers whose parsing lives in buffer entry points (the fuzzers call those).
#pragma once
#include <string>

namespace lmshrink {

// The bytes of path; throws lmshrink::Error "PATH: cannot open WHAT" (what: "config.json", "tokenizer", ...).
std::string read_file_bytes(const std::string& path, const std::string& what);

}  // namespace lmshrink
