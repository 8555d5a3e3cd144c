// One matrix through a low-rank method at its planned rank (ALGORITHMS.md §1): svd (§1.1, data-free), asvd (§1.4,
// activation-scaled) or svd-llm (§1.2, whitened); the LowRank layer replaces the slot and its record is returned.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "lmshrink/calib/gram.h"
#include "lmshrink/compress/compress_options.h"
#include "lmshrink/compress/compress_result.h"

namespace lmshrink {

// stats: the layer's input statistics (null for svd). ratio: the removed fraction the plan gave this matrix.
CompressedLayer compress_low_rank(std::unique_ptr<Linear>& slot, const std::string& name, const LayerStats* stats,
                                  const CompressOptions& options, int64_t rank, double ratio);

}  // namespace lmshrink
