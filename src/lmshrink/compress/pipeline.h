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
#include <string>
#include <vector>

#include "lmshrink/calib/gram.h"
#include "lmshrink/compress/compress_options.h"
#include "lmshrink/compress/dict_size.h"
#include "lmshrink/compress/masa.h"
#include "lmshrink/compress/rocket_profile.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

struct CompressedLayer {
  std::string name;  // e.g. "model.layers.0.self_attn.q_proj"
  int64_t in_features = 0, out_features = 0, rank = 0;
  int64_t atoms = 0, nonzeros = 0;              // dict methods: k and s
  std::string dictionary_owner;                 // dict methods: the group layer storing the dictionary, "" own
  double ratio = 0.0;                           // the rate this matrix was allocated
  int64_t params_before = 0, params_after = 0;  // stored values (weights + bias)
  int64_t bytes_before = 0, bytes_after = 0;    // at the storage dtype
  double words_effective = 0.0, words_full = 0.0;  // 16-bit words (dict_size.h), without / with index storage
  double gram_shift = 0.0;        // eigenvalue shift applied to the (group) Gram (0 when PD)
  double truncation_loss = -1.0;  // svd-llm: Σ of discarded σ² of the whitened weight; −1 otherwise
  double whitened_error = -1.0;   // ‖X (W − Ŵ)‖² / ‖X W‖² with the layer's own Gram; −1 when data-free
  int64_t fit_iterations = 0;     // dict methods: alternations run
  double ks = 0.0;                // rocket: the chosen r / s (1: low rank; 0: left uncompressed)
  double profile_error = -1.0;    // rocket: the profiled ‖Ŵ − W‖_F / ‖W‖_F of the chosen option
  std::string rocket_stage;       // rocket: "eigenbasis", "least-squares" or "refined" (rocket.h)
};

struct CompressResult {
  std::vector<CompressedLayer> layers;
  double calibration_seconds = 0.0;    // block forwards and Gram accumulation
  double decomposition_seconds = 0.0;  // the per-matrix solvers
  int64_t skipped_batches = 0;         // calibration batches dropped for NaN/Inf, all inputs
  // rocket: the profile used (computed here unless given) and the allocation made from it.
  std::vector<MatrixProfile> profile;
  double profile_seconds = 0.0;
  double alpha_min = -1.0;             // the knapsack's error cap (−1: uncapped or uniform)
  double allocated_ratio = 0.0;        // removed fraction of the chosen options, in accounted words
  // masa: every (projection, group) and the logit-lens drifts KL(p_l ‖ p_{l+1}) (empty without grouping).
  std::vector<MasaGroupRecord> masa_groups;
  std::vector<double> masa_drift;
};

const std::vector<std::string>& all_projections();  // the 7 block projections, in block order
// The block's member holding a projection ("q_proj", ..., "down_proj"); throws on another name.
std::unique_ptr<Linear>& projection_slot(TransformerBlock& block, const std::string& projection);
// "model.layers.<layer>.self_attn.<projection>" or "….mlp.<projection>", the HF tensor prefix.
std::string projection_layer_name(int64_t layer, const std::string& projection);
LinearInput projection_input(const std::string& projection);  // the Gram a projection's input has
const Linear& projection_layer(const Transformer& model, int64_t layer, const std::string& projection);
// A comma list of groups "all", "attn" (q,k,v,o), "mlp" (gate,up,down) and names q,k,v,o,gate,up,
// down (with or without "_proj"), returned in block order. Throws lmshrink::Error on an unknown name
// or an empty list.
std::vector<std::string> parse_targets(const std::string& list);
// The rocket profile a compress run computes for these options: the grid (only the target rate for rocket.alloc uniform),
// the accounting, λ and β.
ProfileSettings profile_settings(const CompressOptions& options);
// 16-bit words of a layer (dict_size.h): its values, and with kFull its index bytes / 2; quantized factors at
// their packed size. A dense or low-rank layer costs its value count.
double accounted_words(const Linear& layer, Accounting accounting);
// The ratio that leaves `bytes` for the targeted matrices at 2 bytes per dense weight (the bf16 baseline of
// the budget in bytes). Throws when it is outside (0, 1).
double ratio_for_budget_bytes(const Transformer& model, const std::vector<std::string>& targets, double bytes);

// Compresses the model in place. calib_tokens: int64 [n, seq] (ignored by svd). cached_stats: the
// one-shot statistics of every block (e.g. loaded from the stats cache), or null to stream them. rocket_profile: a
// saved profile (profile_from_json) for rocket; when null, rocket profiles first (one more calibration pass unless
// cached_stats), over the grid for mckp and over the target rate alone for uniform.
CompressResult compress_model(Transformer& model, const at::Tensor& calib_tokens, const CompressOptions& options,
                              const std::vector<BlockStats>* cached_stats = nullptr,
                              const std::vector<MatrixProfile>* rocket_profile = nullptr);

}  // namespace lmshrink
