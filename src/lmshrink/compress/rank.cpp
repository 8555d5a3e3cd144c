// Low-rank parameter accounting (see rank.h).
#include "lmshrink/compress/rank.h"

#include <cmath>

#include "lmshrink/util/error.h"

namespace lmshrink {

int64_t low_rank_for_ratio(int64_t d_in, int64_t d_out, double ratio, const std::string& what) {
  LMSHRINK_CHECK(ratio > 0.0 && ratio < 1.0, "ratio: expected a fraction of parameters to remove in (0, 1), got ", ratio);
  double kept = 1.0 - ratio;
  // Integer arithmetic where it is exact, so the floor matches the reference formula bit for bit.
  int64_t rank = static_cast<int64_t>(std::floor(kept * static_cast<double>(d_in) * static_cast<double>(d_out) /
                                                 static_cast<double>(d_in + d_out)));
  LMSHRINK_CHECK(rank >= 1, what, ": ratio ", ratio, " leaves rank 0 for a ", d_in, " x ", d_out,
                 " matrix (choose a smaller ratio)");
  return rank;
}

int64_t low_rank_params(int64_t d_in, int64_t d_out, int64_t rank) { return rank * (d_in + d_out); }

}  // namespace lmshrink
