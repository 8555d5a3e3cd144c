// Limits on tokenizer.json input (issue 21). The deepest "Sequence" nesting accepted in the normalizer,
// pre_tokenizer, decoder and post_processor (real files nest one or two levels): deeper input is a one-line error,
// not a stack overflow (100,000 nested Sequences crashed the loader). Token ids: integers in [0, 2^24) (the largest
// real vocabularies hold ~256K tokens); a larger id would size the id tables from one hostile number.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "lmshrink/util/error.h"

namespace lmshrink {

inline constexpr int kMaxTokenizerNesting = 64;
inline constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

// value as a token id; throws naming `where` unless it is an integer in [0, kMaxTokenId].
inline int32_t checked_token_id(const nlohmann::json& value, const std::string& where) {
  LMSHRINK_CHECK(value.is_number_integer() && (value.is_number_unsigned() || value.get<int64_t>() >= 0) &&
                     value.get<uint64_t>() <= static_cast<uint64_t>(kMaxTokenId),
                 where, ": expected a token id, an integer in [0, ", kMaxTokenId, "], got ", value.dump());
  return static_cast<int32_t>(value.get<int64_t>());
}

}  // namespace lmshrink
