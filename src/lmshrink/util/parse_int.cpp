// parse_int (see parse_int.h): std::from_chars over the whole text, with the range checked.
#include "lmshrink/util/parse_int.h"

#include <charconv>

#include "lmshrink/util/error.h"

namespace lmshrink {

int64_t parse_int(const std::string& text, const std::string& what, int64_t min_value, int64_t max_value) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, value);
  LMSHRINK_CHECK(!text.empty() && error == std::errc() && stop == end, what, ": '", text, "' is not an integer");
  LMSHRINK_CHECK(value >= min_value && value <= max_value, what, ": ", value, " is outside [", min_value, ", ",
                 max_value, "]");
  return value;
}

}  // namespace lmshrink
