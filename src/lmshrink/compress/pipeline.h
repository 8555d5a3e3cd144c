// The width-compression driver shared by every method (ALGORITHMS.md §8 items 1–4, 6): walks the
// decoder blocks in order, gets each block's calibration statistics (streamed one block at a time,
// or given from a cache), replaces every targeted projection by the method's compressed layer, and
// accounts parameters. Methods: svd (§1.1, data-free), asvd (§1.4), svd-llm (§1.2); every targeted
// matrix gets the same ratio, rank r = floor((1 − ratio) in out / (in + out)) (compress/rank.h).
// Modes (streaming.h): one-shot, statistics of the original model; sequential, block l calibrated on
// the outputs of the already-compressed blocks 0..l−1.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lmshrink/calib/gram.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

struct CompressOptions {
  std::string method;                // "svd", "asvd" or "svd-llm"
  double ratio = 0.0;                // fraction of each targeted matrix's parameters removed, in (0, 1)
  std::vector<std::string> targets;  // projections: "q_proj", ..., "down_proj" (parse_targets)
  std::string mode = "one-shot";     // "one-shot" or "sequential"
  double asvd_alpha = 0.5;
  int64_t batch_size = 8;            // calibration samples per block forward
};

struct CompressedLayer {
  std::string name;  // e.g. "model.layers.0.self_attn.q_proj"
  int64_t in_features = 0, out_features = 0, rank = 0;
  int64_t params_before = 0, params_after = 0;  // stored values (weights + bias)
  int64_t bytes_before = 0, bytes_after = 0;    // at the storage dtype
  double gram_shift = 0.0;        // svd-llm: eigenvalue shift applied to the Gram (0 when PD)
  double truncation_loss = -1.0;  // svd-llm: Σ of discarded σ² of the whitened weight; −1 otherwise
};

struct CompressResult {
  std::vector<CompressedLayer> layers;
  double calibration_seconds = 0.0;    // block forwards and Gram accumulation
  double decomposition_seconds = 0.0;  // the per-matrix solvers
  int64_t skipped_batches = 0;         // calibration batches dropped for NaN/Inf, all inputs
};

const std::vector<std::string>& all_projections();  // the 7 block projections, in block order
// The block's member holding a projection ("q_proj", ..., "down_proj"); throws on another name.
std::unique_ptr<Linear>& projection_slot(TransformerBlock& block, const std::string& projection);
// A comma list of groups "all", "attn" (q,k,v,o), "mlp" (gate,up,down) and names q,k,v,o,gate,up,
// down (with or without "_proj"), returned in block order. Throws lmshrink::Error on an unknown name
// or an empty list.
std::vector<std::string> parse_targets(const std::string& list);
bool method_needs_calibration(const std::string& method);

// Validates method, mode, targets, ratio (every targeted matrix keeps rank ≥ 1) before any work.
void check_compress_options(const Transformer& model, const CompressOptions& options);

// Compresses the model in place. calib_tokens: int64 [n, seq] (ignored by svd). cached_stats: the
// one-shot statistics of every block (e.g. loaded from the stats cache), or null to stream them.
CompressResult compress_model(Transformer& model, const at::Tensor& calib_tokens, const CompressOptions& options,
                              const std::vector<BlockStats>* cached_stats = nullptr);

}  // namespace lmshrink
