// The one integer parser for text that enters lmshrink (metadata entries, list items, option values): the whole
// text must be a base-10 integer within [min_value, max_value], else lmshrink::Error naming `what`.
#pragma once
#include <cstdint>
#include <limits>
#include <string>

namespace lmshrink {

int64_t parse_int(const std::string& text, const std::string& what,
                  int64_t min_value = std::numeric_limits<int64_t>::min(),
                  int64_t max_value = std::numeric_limits<int64_t>::max());

}  // namespace lmshrink
