// The ΔNLL probe (compress/nll_probe.h) on stories260K with real TinyStories calibration: every probed option's ΔNLL
// equals the loss of a whole model compressed at that one matrix (Transformer::forward, not the probe's cached block
// inputs) minus the dense loss, and its KL(dense ‖ compressed) that of the two models' forwards; its weight and whitened errors equal float64 loops over the stored layer; the model
// comes back bit-identical; rank_correlation matches hand-computed Spearman coefficients; a profile with metric nll
// drives compress end to end.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "lmshrink/calib/streaming.h"
#include "lmshrink/compress/nll_probe.h"
#include "lmshrink/compress/pipeline.h"
#include "lmshrink/compress/rocket.h"
#include "lmshrink/model/next_token_loss.h"
#include "lmshrink/model/projections.h"
#include "compress/stories_fixture.h"
#include "test_support.h"

namespace {

using namespace lmshrink;

using lmshrink::testing::calibration_tokens;
using lmshrink::testing::stories;

ProfileSettings small_grid(ProfileMetric metric, int bits) {
  ProfileSettings settings;
  settings.grid = {{0.2, 0.5}, {1.0, 2.0}};
  settings.metric = metric;
  settings.cost.quantize_bits = bits;
  return settings;
}

CompressOptions rocket_at(double ratio) {
  CompressOptions options;
  options.method = Method::kRocket;
  options.ratio = ratio;
  options.targets = all_projections();
  options.batch_size = 4;
  return options;
}

TEST(NllProbeTest, EachOptionCostsTheLossOfTheModelCompressedAtThatMatrixAlone) {
  at::Tensor tokens = calibration_tokens(8, 64);
  auto model = stories();
  std::vector<BlockStats> stats = collect_all_one_shot(*model, tokens, 4);
  std::vector<std::string> targets = {"k_proj", "down_proj"};
  for (int bits : {0, 8}) {
    std::vector<MatrixProfile> profile = profile_model(*model, tokens, targets, small_grid(ProfileMetric::kNll, bits), 4, &stats);
    at::Tensor logits_before = model->forward(tokens.narrow(0, 0, 2));
    RocketCompressOptions rocket;
    probe_profile_nll(*model, tokens, profile, &stats, 4, rocket, 128, {6, 4, false});
    EXPECT_TRUE(torch::equal(model->forward(tokens.narrow(0, 0, 2)), logits_before)) << "the model is restored";
    at::Tensor windows = tokens.narrow(0, 0, 6);
    double dense_loss = mean_next_token_loss(*model, windows, 6);
    for (size_t m : {size_t{1}, profile.size() - 1}) {  // layer 0's down_proj, the last layer's
      const MatrixProfile& matrix = profile[m];
      int64_t layer = std::stoll(matrix.name.substr(std::string("model.layers.").size()));
      std::string projection = matrix.name.substr(matrix.name.rfind('.') + 1);
      for (const ProfileOption& option : matrix.options) {
        if (option.rate == 0) continue;
        auto compressed = stories();
        std::unique_ptr<Linear>& slot = projection_slot(compressed->mutable_blocks()[layer], projection);
        at::Tensor w = slot->dense().t().to(torch::kFloat64);  // [in, out]
        const at::Tensor& gram = stats[layer].of(projection_input(projection)).gram;
        compress_rocket_layer(slot, matrix.name, &stats[layer].of(projection_input(projection)), rocket, option, {bits, 128});
        double expected = mean_next_token_loss(*compressed, windows, 6) - dense_loss;
        EXPECT_NEAR(option.measured_nll, expected, 1e-5 + 1e-4 * std::abs(expected)) << matrix.name << " rate " << option.rate;
        at::Tensor p = torch::log_softmax(model->forward(windows).narrow(1, 0, 63).to(torch::kFloat64), -1);
        at::Tensor q = torch::log_softmax(compressed->forward(windows).narrow(1, 0, 63).to(torch::kFloat64), -1);
        double expected_kl = (p.exp() * (p - q)).sum().item<double>() / (6.0 * 63.0);
        EXPECT_NEAR(option.measured_kl, expected_kl, 1e-6 + 1e-4 * expected_kl) << matrix.name << " rate " << option.rate;
        EXPECT_GT(option.measured_kl, 0.0);
        EXPECT_EQ(option.error, option.measured_nll);  // no clamping asked
        // float64 loops over the stored layer: ‖Ŵ − W‖/‖W‖ and sqrt(tr(Eᵀ G E) / tr(Wᵀ G W))
        at::Tensor w_hat = slot->dense().t().to(torch::kFloat64);
        double diff = 0, norm = 0, num = 0, den = 0;
        auto e = (w_hat - w).contiguous(), wc = w.contiguous(), g = gram.to(torch::kFloat64).contiguous();
        auto ea = e.accessor<double, 2>(), wa = wc.accessor<double, 2>(), ga = g.accessor<double, 2>();
        for (int64_t i = 0; i < w.size(0); ++i) {
          for (int64_t o = 0; o < w.size(1); ++o) {
            diff += ea[i][o] * ea[i][o];
            norm += wa[i][o] * wa[i][o];
            for (int64_t j = 0; j < w.size(0); ++j) {
              num += ea[i][o] * ga[i][j] * ea[j][o];
              den += wa[i][o] * ga[i][j] * wa[j][o];
            }
          }
        }
        EXPECT_NEAR(option.weight_error, std::sqrt(diff / norm), 1e-9) << matrix.name;
        EXPECT_NEAR(option.whitened_error, std::sqrt(num / den), 1e-9) << matrix.name;
      }
    }
  }
}

TEST(NllProbeTest, NegativeChangesCostNothingWhenClamped) {
  at::Tensor tokens = calibration_tokens(8, 64);
  auto model = stories();
  std::vector<BlockStats> stats = collect_all_one_shot(*model, tokens, 4);
  std::vector<MatrixProfile> profile = profile_model(*model, tokens, {"q_proj"}, small_grid(ProfileMetric::kNll, 0), 4, &stats);
  probe_profile_nll(*model, tokens, profile, nullptr, 4, RocketCompressOptions{}, 128, {4, 2, true});  // streamed stats
  int probed = 0;
  for (const MatrixProfile& m : profile) {
    for (const ProfileOption& o : m.options) {
      if (o.rate == 0) continue;
      ++probed;
      EXPECT_EQ(o.error, std::max(o.measured_nll, 0.0)) << m.name;
      EXPECT_GE(o.whitened_error, 0.0);
    }
  }
  EXPECT_EQ(probed, 2 * 5);
}

TEST(NllProbeTest, WithCompotCandidatesBothFitsOfEveryRateAreProbed) {
  at::Tensor tokens = calibration_tokens(8, 64);
  auto model = stories();
  std::vector<BlockStats> stats = collect_all_one_shot(*model, tokens, 4);
  ProfileSettings settings = small_grid(ProfileMetric::kNll, 0);
  settings.compot_candidates = true;
  std::vector<MatrixProfile> profile = profile_model(*model, tokens, {"gate_proj"}, settings, 4, &stats);
  probe_profile_nll(*model, tokens, profile, &stats, 4, RocketCompressOptions{}, 128, {4, 4, true});
  for (const MatrixProfile& m : profile) {
    for (double rate : settings.grid.rates) {
      int rocket = 0, compot = 0;
      for (const ProfileOption& o : m.options) {
        if (o.rate != rate) continue;
        (o.compot ? compot : rocket) += 1;
        EXPECT_FALSE(std::isnan(o.measured_nll)) << m.name;
      }
      EXPECT_EQ(rocket, 1) << m.name << " rate " << rate;
      EXPECT_EQ(compot, 1) << m.name << " rate " << rate;
    }
  }
}

TEST(NllProbeTest, RankCorrelationMatchesHandComputedSpearman) {
  EXPECT_DOUBLE_EQ(rank_correlation({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(rank_correlation({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
  // ranks (0,1,2,3,4) and (1,0,3,2,4): Σd² = 4, n = 5: 1 − 6·4/(5·24) = 0.8
  EXPECT_NEAR(rank_correlation({1, 2, 3, 4, 5}, {2, 1, 4, 3, 5}), 0.8, 1e-12);
  // ties: x ranks (0, 1.5, 1.5, 3), y ranks (0, 1, 2, 3): Pearson of the ranks = 4.5 / sqrt(4.5 · 5) = 0.9487
  EXPECT_NEAR(rank_correlation({1, 2, 2, 3}, {1, 2, 3, 4}), 4.5 / std::sqrt(4.5 * 5.0), 1e-12);
  EXPECT_TRUE(std::isnan(rank_correlation({1, 1, 1}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(rank_correlation({1}, {2})));
}

TEST(NllProbeTest, CompressWithAMeasuredMetricMeetsTheBudgetWithTheMeasuredCostsAndNoCap) {
  at::Tensor tokens = calibration_tokens(8, 64);
  for (ProfileMetric metric : {ProfileMetric::kNll, ProfileMetric::kKl}) {
    auto model = stories();
    CompressOptions options = rocket_at(0.3);
    options.rocket.grid = {{0.2, 0.4, 0.6}, {1.0, 2.0}};
    options.rocket.profile_metric = metric;
    options.rocket.nll_windows = 4;
    CompressResult result = compress_model(*model, tokens, options);
    EXPECT_GE(result.allocated_ratio, 0.3 - 1e-9);
    EXPECT_LT(result.alpha_min, 0.0) << "no error cap on measured costs";
    for (const MatrixProfile& m : result.profile) {
      for (const ProfileOption& o : m.options) {
        if (o.rate == 0) continue;
        double measured = metric == ProfileMetric::kKl ? o.measured_kl : std::max(o.measured_nll, 0.0);
        EXPECT_EQ(o.error, measured) << m.name << " " << profile_metric_name(metric);
      }
    }
  }
}

}  // namespace
