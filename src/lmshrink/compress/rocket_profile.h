// ROCKET layer profiling (arXiv 2602.11008 "Layer Profiling"; ALGORITHMS.md §3.4): for every targeted matrix, one
// whitened basis (rocket.h RocketBasis), then for every compression rate cr of the grid and every dictionary/sparsity
// ratio ks = r / s, the factorization that compression will apply (rocket.h fit_rocket, no refinement) and its error
// under the profile's metric (rocket_profile_format.h): by default the paper's Table 6 ‖Ŵ − W‖_F / ‖W‖_F in the
// original space (one [n, n] triangular solve of the r-column dictionary per candidate); with metric whitened the
// calibration-weighted ‖X(Ŵ − W)‖_F / ‖XW‖_F = ‖W_L − D V‖_F / ‖W_L‖_F, which fit_rocket already holds (issue 23
// item 1; on stories260K its knapsack gave higher perplexity at 0.3–0.5, docs/results.md, so it is not the default).
// Per rate the best ks is kept (with COMPOT candidates, the better of the two fits; under metric nll both, for the
// measured ΔNLL to choose). A no-compression option (rate 0, error 0) comes first; the allocator may drop it.
// Deviation from the reference code (§9 item 2), documented: its profiler uses a simpler sparsifier than its
// compressor (no ν weighting, no β, no refill); lmshrink profiles with the compressor's own rule, so the knapsack
// sees the errors of the factorizations it chooses.
// Sizes (rocket_size): ks = 1 is plain low rank, r = ⌊(1 − cr) d1 d2 / (d1 + d2)⌋ (stored as a LowRank layer, no
// index); ks > 1 is a DictSparse layer sized by dict_size.h (r atoms, s = ⌊r / ks⌋, index counted under full
// accounting), skipped, as in the reference, when r would exceed min(d1, d2).
#pragma once
#include <ATen/core/Tensor.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lmshrink/calib/gram.h"
#include "lmshrink/compress/dict_size.h"
#include "lmshrink/compress/rocket_profile_format.h"
#include "lmshrink/compress/rocket.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

struct ProfileGrid {
  std::vector<double> rates;  // removed fractions, each in (0, 1)
  std::vector<double> ks;     // r / s, each ≥ 1
};
ProfileGrid default_profile_grid();  // rates 0.05 … 0.70 step 0.05, ks 1.0 … 3.0 step 0.1 (rocket/config/default.yaml)
// "a:b:step" or a comma list; throws naming `flag` on a bad item.
std::vector<double> parse_grid_list(const std::string& text, const std::string& flag);
void check_profile_grid(const ProfileGrid& grid);  // throws on an empty list, a rate outside (0, 1) or ks < 1

struct RocketSize {
  int64_t atoms = 0, nonzeros = 0;  // r, s (s == r: low rank)
  double kept_words = 0.0;          // 16-bit words under the accounting
};
// nullopt when (rate, ks) gives no valid size for a d1 × d2 matrix.
std::optional<RocketSize> rocket_size(int64_t d1, int64_t d2, double rate, double ks, const DictCost& cost);

struct ProfileSettings {
  ProfileGrid grid = default_profile_grid();
  DictCost cost;
  double importance_exponent = 0.5, oversparsify = 0.005;  // λ, β (rocket.h)
  ProfileMetric metric = ProfileMetric::kWeight;  // the reference's; whitened measured worse (docs/results.md)
  bool compot_candidates = false;  // also profile COMPOT's fit (k/s = 2, k ≤ in) at every rate and bits
};

// The factor bits profiled for a cost's quantize_bits: that one (0, 8 or 4), or all three for -1 (the knapsack then
// chooses bits per matrix, issue 23 item 3).
std::vector<int> profile_bit_choices(int quantize_bits);

// One matrix: layer W and the Gram XᵀX of its input, float64 [in, in].
MatrixProfile profile_matrix(const std::string& name, const Linear& layer, const at::Tensor& gram_in_in,
                             const ProfileSettings& settings);

// Every targeted matrix of the model in block order, from one-shot statistics: cached_stats (one per block) or, when
// null, streamed from calib_tokens [n, seq] block by block.
std::vector<MatrixProfile> profile_model(const Transformer& model, const at::Tensor& calib_tokens,
                                         const std::vector<std::string>& targets, const ProfileSettings& settings,
                                         int64_t batch_size, const std::vector<BlockStats>* cached_stats = nullptr);

// The saved profile: {"format": "lmshrink-rocket-profile", "version": 1, "accounting", "metric", "grid", "matrices": [...]}.
nlohmann::json profile_to_json(const std::vector<MatrixProfile>& profile, const ProfileSettings& settings);
// Parses and validates a saved profile (rocket_profile_format.h) against the model and targets; throws naming `what`
// (the file) on an empty or inconsistent profile, another accounting, metric or factor quantization, or a matrix missing
// or of another shape.
std::vector<MatrixProfile> profile_from_json(const nlohmann::json& json, const Transformer& model,
                                             const std::vector<std::string>& targets, const std::string& accounting,
                                             ProfileMetric metric, const std::string& what, int quantize_bits = 0);

}  // namespace lmshrink
