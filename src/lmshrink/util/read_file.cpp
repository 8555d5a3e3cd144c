// Whole-file reads (see read_file.h).
#include "lmshrink/util/read_file.h"

#include <fstream>
#include <sstream>

#include "lmshrink/util/error.h"

namespace lmshrink {

std::string read_file_bytes(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  LMSHRINK_CHECK(in.good(), path, ": cannot open ", what);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  LMSHRINK_CHECK(!in.bad(), path, ": read error in ", what);
  return bytes.str();
}

}  // namespace lmshrink
