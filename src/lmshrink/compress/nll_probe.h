// The end-to-end cost of ROCKET's profile options (issue 23 item 1): for every matrix and every option of its profile,
// the increase of the mean next-token loss on probe windows when that matrix alone takes that option and every other
// matrix stays dense,
//   ΔNLL(m, o) = NLL(model with W_m ← Ŵ_m(o)) − NLL(model),
// measured, not predicted. The knapsack (mckp.h) then minimises Σ_m ΔNLL(m, o_m), the first-order (additive) estimate
// of the compressed model's loss increase, instead of a sum of relative errors that treats every matrix alike.
// Cost: one forward of blocks l … L−1 and the head over the probe windows per option (the inputs of block l are the
// dense model's, computed once), so it is meant for models whose forward over a few windows is cheap.
// The same forwards also give KL(p ‖ p̂) of the next-token distributions, the cost of metric kl. Memory: the dense
// model's log-probabilities are kept (windows × seq × vocab float32) and one batch's are formed in float64, so a
// 128k vocabulary at 8 × 512 tokens needs about 6 GB: another reason the probe is for small models.
// Each probed option also records its weight-space and whitened errors (‖W − Ŵ‖/‖W‖, ‖X(W − Ŵ)‖/‖XW‖) so that a
// report can say how well either predicts the measured ΔNLL.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "lmshrink/calib/gram.h"
#include "lmshrink/compress/rocket_profile.h"
#include "lmshrink/model/transformer.h"

namespace lmshrink {

struct RocketCompressOptions;

struct NllProbeSettings {
  int64_t windows = 8;       // probe windows: the first rows of the calibration tokens
  int64_t batch_size = 8;
  bool clamp_negative = true;  // a negative ΔNLL (the option helped on the probe) costs 0 in the knapsack
  ProfileMetric cost = ProfileMetric::kNll;  // the error each option gets: kNll (ΔNLL) or kKl (the KL below)
};

// Replaces every compressed option's error by its measured ΔNLL, or with cost kKl by the mean KL divergence of the
// dense model's next-token distributions from the compressed one's, KL(p ‖ p̂) (the uncompressed option keeps 0), and
// fills its weight_error, whitened_error, measured_nll and measured_kl. KL needs no in-domain text: on text the model
// was not trained on, compression can lower the loss while changing the model (aidreams260K on TinyStories,
// docs/results.md), and ΔNLL then rewards damage. The fits whiten with the one-shot statistics: cached_stats (one per
// block) or, when null, streamed again from calib_tokens in batches of calib_batch. The model is left as it came
// (each probed matrix is restored). Throws lmshrink::Error on fewer than 2 tokens per window or a profile matrix the
// model lacks.
void probe_profile_nll(Transformer& model, const at::Tensor& calib_tokens, std::vector<MatrixProfile>& profile,
                       const std::vector<BlockStats>* cached_stats, int64_t calib_batch, const RocketCompressOptions& rocket,
                       int64_t quant_group, const NllProbeSettings& settings);

// Spearman's rank correlation of two equal-length series (average ranks for ties); NaN for fewer than 2 values or a
// constant series.
double rank_correlation(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace lmshrink
