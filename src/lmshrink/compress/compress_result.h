// What a compression run reports: one record per compressed matrix (sizes before and after, the whitened output
// error, the method's figures), the run's totals and timings; and the accounting every method shares: the 16-bit
// words of a layer (dict_size.h), the whitened error ‖X (W − Ŵ)‖² / ‖X W‖² and the per-layer record.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lmshrink/compress/dict_size.h"
#include "lmshrink/compress/rocket_profile.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

// One (projection, group) of a MASA run, for the run record.
struct MasaGroupRecord {
  std::string projection;
  int64_t first = 0, last = 0;   // layers [first, last)
  int64_t atoms = 0, residual_rank = 0;
  double energy = 0.0;           // Σ_l ‖W_l‖²_F
  double discarded = 0.0;        // Σ of discarded eigenvalues = PCA reconstruction error before any residual
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
  int bits = 0;                   // rocket: the factors' bits (0: 16-bit values; 8 or 4: RTN)
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

// 16-bit words of a layer (dict_size.h): its values, and with kFull its index bytes / 2; quantized factors at
// their packed size. A dense or low-rank layer costs its value count.
double accounted_words(const Linear& layer, Accounting accounting);
// The ratio that leaves `bytes` for the targeted matrices at 2 bytes per dense weight (the bf16 baseline of
// the budget in bytes). Throws when it is outside (0, 1).
double ratio_for_budget_bytes(const Transformer& model, const std::vector<std::string>& targets, double bytes);

// ‖X (W − Ŵ)‖² / ‖X W‖² = tr(Eᵀ G E) / tr(Wᵀ G W), E = W − Ŵ, with the layer's input Gram [in, in]; float64.
// whitened_norm2: tr(Wᵀ G W) when the caller already has it (≥ 0), else computed here.
double whitened_error(const Linear& before, const Linear& after, const at::Tensor& gram_in_in, double whitened_norm2 = -1.0);
// The record of a matrix replaced by `after`: shapes, values and bytes before and after, words under both
// accountings, the allocated ratio. The method fills its own figures (rank, atoms, errors).
CompressedLayer layer_record(const std::string& name, const Linear& before, const Linear& after, double ratio);

}  // namespace lmshrink
