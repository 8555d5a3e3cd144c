// The one error type of lmshrink. Every check where input enters the library throws it with a
// message naming the file, tensor or flag and what was expected; the CLI prints it on one line
// and exits with code 2.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace lmshrink {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Concatenates its arguments with operator<< into one message.
template <typename... Parts>
std::string str_cat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(str_cat(parts...));
}

}  // namespace lmshrink

// LMSHRINK_CHECK(cond, "file.bin: expected ", n, " bytes, got ", m) throws lmshrink::Error.
#define LMSHRINK_CHECK(cond, ...)      \
  do {                                 \
    if (!(cond)) ::lmshrink::fail(__VA_ARGS__); \
  } while (0)
