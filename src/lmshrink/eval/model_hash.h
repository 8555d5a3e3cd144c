// A content fingerprint of a model for results records: FNV-1a 64 over the bytes of the checkpoint
// file, or of every regular file of a model directory in name order (names included), as 16 hex digits.
#pragma once
#include <string>

namespace lmshrink {

std::string model_fingerprint(const std::string& path);

}  // namespace lmshrink
