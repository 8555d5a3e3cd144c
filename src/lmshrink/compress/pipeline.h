// The width-compression driver shared by every method (ALGORITHMS.md §8 items 1–4, 6): walks the
// decoder blocks in order, gets each block's calibration statistics (streamed one block at a time,
// or given from a cache), replaces every targeted projection by the method's compressed layer, and
// accounts parameters. Methods: svd (§1.1, data-free), asvd (§1.4), svd-llm (§1.2) give LowRank layers
// of rank r = floor((1 − ratio) in out / (in + out)) (compress/rank.h); cospadi (§2, cospadi.h) and compot
// (§4, compot.h) give DictSparse layers sized by dict_size.h, per layer or (cospadi --groups N) with one
// dictionary per N consecutive layers, and compot's rates optionally allocated per matrix (allocation.h); rocket
// (§3, rocket.h) profiles every matrix (rocket_profile.h), chooses a (rate, ks) per matrix (rocket_alloc.h) and gives
// DictSparse layers, or LowRank ones where ks = 1; masa (§5, masa.h) replaces the attention projections of each
// layer group by SharedAtoms layers (one atom bank per projection type and group).
// Modes (streaming.h): one-shot, statistics of the original model; sequential, block l calibrated on
// the outputs of the already-compressed blocks 0..l−1.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lmshrink/calib/gram.h"
#include "lmshrink/compress/compress_options.h"
#include "lmshrink/compress/compress_result.h"
#include "lmshrink/compress/masa.h"
#include "lmshrink/model/projections.h"
#include "lmshrink/compress/rocket_profile.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

// check_option_fields (compress_options.h), then every targeted matrix keeps rank ≥ 1 or s ≥ 1 at the uniform plan.
void check_compress_options(const Transformer& model, const CompressOptions& options);

// Compresses the model in place. calib_tokens: int64 [n, seq] (ignored by svd). cached_stats: the
// one-shot statistics of every block (e.g. loaded from the stats cache), or null to stream them. rocket_profile: a
// saved profile (profile_from_json) for rocket; when null, rocket profiles first (one more calibration pass unless
// cached_stats), over the grid for mckp and over the target rate alone for uniform.
// on_block_done(l) is called, in block order, as soon as block l holds its final layers and nothing will read it
// again (after its window is compressed; in sequential mode after its outputs fed the next block): a streaming caller
// writes the block and may replace its layers by ReleasedLinear (linear.h). Masa calls it for every block at the end.
// The pages of memory-mapped weights are released after each block (io/mapped_pages.h), so peak memory is one block.
using BlockDone = std::function<void(int64_t layer)>;
CompressResult compress_model(Transformer& model, const at::Tensor& calib_tokens, const CompressOptions& options,
                              const std::vector<BlockStats>* cached_stats = nullptr,
                              const std::vector<MatrixProfile>* rocket_profile = nullptr,
                              const BlockDone& on_block_done = nullptr);

}  // namespace lmshrink
