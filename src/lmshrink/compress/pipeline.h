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
#include "lmshrink/compress/dict_size.h"
#include "lmshrink/compress/masa.h"
#include "lmshrink/compress/rocket_profile.h"
#include "lmshrink/model/projections.h"  // all_projections, projection_slot, projection_layer_name, ...
#include "lmshrink/model/transformer.h"

namespace lmshrink {

struct CompressOptions {
  std::string method;                // "svd", "asvd", "svd-llm", "cospadi", "compot", "rocket" or "masa"
  double ratio = 0.0;                // fraction of the targeted parameters removed, in (0, 1)
  std::vector<std::string> targets;  // projections: "q_proj", ..., "down_proj" (parse_targets)
  std::string mode = "one-shot";     // "one-shot" or "sequential"
  double asvd_alpha = 0.5;
  int64_t batch_size = 8;            // calibration samples per block forward
  // Sparse-dictionary methods (cospadi, compot).
  double atoms_per_nonzero = 2.0;    // ρ = k / s
  std::string accounting = "full";   // "full" (index storage counted, eq. 10) or "effective" (eq. 11)
  int64_t iterations = 0;            // 0: the method's default (cospadi 60 K-SVD alternations, compot cap 20)
  int64_t power_iterations = 8;      // cospadi rank-1 atom updates
  int64_t omp_batch = 8192;          // cospadi columns per Batch-OMP batch
  uint64_t seed = 42;                // cospadi dictionary initialisation
  int64_t groups = 1;                // cospadi: consecutive layers sharing one dictionary per projection
  double tolerance = 1e-4;           // compot: stop when the relative objective decrease falls below
  std::string alloc = "uniform";     // "uniform" or "dynamic" (pooled spectrum, allocation.h; compot, cospadi)
  double alloc_min_ratio = 0.05, alloc_max_ratio = 0.80;
  int quantize_bits = 0;             // 0, 8 or 4: RTN-quantized factors (dict methods)
  int64_t quant_group = 128;
  // ROCKET (rocket.h, rocket_profile.h, rocket_alloc.h); alloc "mckp" (default for rocket) or "uniform".
  ProfileGrid grid = default_profile_grid();
  double importance_exponent = 0.5, oversparsify = 0.005;  // λ, β
  bool allow_uncompressed = true, error_cap = true;
  int64_t precision = 50000;
  int64_t refine_steps = 0;
  double refine_lr = 1e-3;
  // MASA (masa.h): attention projections only; --ratio is the fraction of the targeted attention weights removed.
  int64_t masa_atoms = 0;                // S per projection type and group instead of --ratio (0: from --ratio)
  std::string masa_groups = "1";         // "1" (all layers share), N groups, or "auto" (logit-lens KL drift)
  std::string masa_residual_rank = "0";  // "0", the q/o residual rank (k/v scaled down under GQA), or "auto"
  std::string masa_mix = "synthesize";   // how the saved model runs: "synthesize" (W formed at load) or "runtime"
};

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

// A comma list of groups "all", "attn" (q,k,v,o), "mlp" (gate,up,down) and names q,k,v,o,gate,up,
// down (with or without "_proj"), returned in block order. Throws lmshrink::Error on an unknown name
// or an empty list.
std::vector<std::string> parse_targets(const std::string& list);
bool method_needs_calibration(const std::string& method);
// The rocket profile a compress run computes for these options: the grid (only the target rate for --alloc uniform),
// the accounting, λ and β.
ProfileSettings profile_settings(const CompressOptions& options);
bool method_is_dictionary(const std::string& method);  // cospadi, compot
// 16-bit words of a layer (dict_size.h): its values, and with kFull its index bytes / 2; quantized factors at
// their packed size. A dense or low-rank layer costs its value count.
double accounted_words(const Linear& layer, Accounting accounting);
// The ratio that leaves `bytes` for the targeted matrices at 2 bytes per dense weight (the bf16 baseline of
// --budget-bytes). Throws when it is outside (0, 1).
double ratio_for_budget_bytes(const Transformer& model, const std::vector<std::string>& targets, double bytes);

// Validates method, mode, targets, ratio and the method's options (every targeted matrix keeps rank ≥ 1, or
// s ≥ 1) before any work.
void check_compress_options(const Transformer& model, const CompressOptions& options);

// Compresses the model in place. calib_tokens: int64 [n, seq] (ignored by svd). cached_stats: the
// one-shot statistics of every block (e.g. loaded from the stats cache), or null to stream them. rocket_profile: a
// saved profile (profile_from_json) for rocket; when null, rocket profiles first (one more calibration pass unless
// cached_stats), over the grid for mckp and over the target rate alone for uniform.
CompressResult compress_model(Transformer& model, const at::Tensor& calib_tokens, const CompressOptions& options,
                              const std::vector<BlockStats>* cached_stats = nullptr,
                              const std::vector<MatrixProfile>* rocket_profile = nullptr);

}  // namespace lmshrink
