// ROCKET's factorization and profile against independent references: the basis from the smaller Gram side equals
// LAPACK's SVD of the whitened matrix (both shapes); the support keeps exactly s entries per column, chosen as a
// plain loop over sorted scores says; the ridge dictionary equals the normal equations solved by an explicit float64
// inverse, and the closed-form errors equal the residuals formed explicitly; the least-squares refit never increases
// the whitened error of the eigenbasis factor; with s = r (ks = 1) ROCKET is SVD-LLM's truncated factorization; the
// size rule is the reference code's formula; the profile keeps the best ks per rate under either metric, and the
// whitened metric equals ‖X(W − Ŵ)‖ / ‖XW‖ summed by a float64 loop over explicit calibration rows.
#include "lmshrink/compress/rocket.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "lmshrink/calib/gram.h"
#include "lmshrink/compress/compress_options.h"
#include "lmshrink/compress/compress_result.h"
#include "lmshrink/compress/dict_group.h"
#include "lmshrink/compress/rocket_profile.h"
#include "lmshrink/compress/svd_llm.h"
#include "lmshrink/model/linear.h"
#include "lmshrink/util/error.h"

namespace {

using namespace lmshrink;

at::Tensor randn64(std::vector<int64_t> shape, uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  return torch::randn(shape, g, torch::kFloat64);
}

// A Gram matrix XᵀX of correlated inputs (not a multiple of the identity, so whitening matters).
at::Tensor gram_of(int64_t in, uint64_t seed) {
  at::Tensor x = torch::matmul(randn64({4 * in, in}, seed), randn64({in, in}, seed + 1));
  return torch::matmul(x.t(), x);
}

DenseLinear layer_of(int64_t in, int64_t out, uint64_t seed) { return DenseLinear(randn64({out, in}, seed).to(torch::kFloat32)); }

RocketBasis basis_of(const DictProblem& problem, const DenseLinear& layer) {
  return rocket_basis(problem.whitened, problem.lower, layer.dense().t());
}

double squared(const at::Tensor& w, const at::Tensor& d, const at::Tensor& v) {
  return (w - torch::matmul(d, v)).pow(2).sum().item<double>();
}

TEST(RocketTest, ImportanceIsCoefficientTimesAtomNormToTheLambda) {
  at::Tensor c = randn64({5, 7}, 1), nu = randn64({5}, 2).abs() + 0.1;
  at::Tensor imp = rocket_importance(c, nu, 0.5);
  for (int64_t i = 0; i < 5; ++i) {
    for (int64_t j = 0; j < 7; ++j) {
      double expected = std::abs(c[i][j].item<double>()) * std::sqrt(nu[i].item<double>());
      EXPECT_NEAR(imp[i][j].item<double>(), expected, 1e-12);
    }
  }
}

TEST(RocketTest, BasisFromTheSmallerGramSideEqualsTheSvdOfTheWhitenedMatrix) {
  for (auto [in, out] : std::vector<std::pair<int64_t, int64_t>>{{24, 40}, {40, 24}, {32, 32}}) {
    DenseLinear layer = layer_of(in, out, 60 + in);
    DictProblem problem = whiten_group({&layer}, {gram_of(in, 70 + out)});
    RocketBasis basis = basis_of(problem, layer);
    auto [u, sigma, vh] = at::linalg_svd(problem.whitened, /*full_matrices=*/false);
    at::Tensor nu = at::linalg_solve_triangular(problem.lower.t(), u, true).norm(2, {0});
    EXPECT_TRUE(torch::allclose(basis.sigma, sigma, 1e-9, 1e-9 * sigma[0].item<double>())) << in << " x " << out;
    EXPECT_TRUE(torch::allclose(basis.atom_norms, nu, 1e-7, 1e-12)) << in << " x " << out;
    at::Tensor signs = (basis.u * u).sum(0).sign();  // singular vectors are defined up to sign
    EXPECT_TRUE(torch::allclose(basis.u, u * signs, 1e-7, 1e-9)) << in << " x " << out;
    EXPECT_TRUE(torch::allclose(basis.vh, vh * signs.unsqueeze(1), 1e-7, 1e-9)) << in << " x " << out;
    EXPECT_NEAR(basis.energy, problem.whitened.pow(2).sum().item<double>(), 1e-12 * basis.energy);
  }
}

TEST(RocketTest, ClosedFormRidgeErrorEqualsTheResidual) {
  at::Tensor w = randn64({12, 20}, 8), v = randn64({6, 20}, 9) * (randn64({6, 20}, 10) > 0).to(torch::kFloat64);
  RidgeFit fit = ridge_fit(w, v, w.pow(2).sum().item<double>());
  double direct = squared(w, fit.dictionary, v);
  EXPECT_NEAR(fit.error, direct, 1e-10 * direct);
}

TEST(RocketTest, SupportOverSparsifiesThenRefillsEveryColumnToExactlyS) {
  int64_t r = 400, m = 9, s = 150;  // ⌈β r⌉ = 2 entries per column come from the refill score
  at::Tensor importance = randn64({r, m}, 3).abs(), refill = randn64({r, m}, 4).abs();
  at::Tensor rows = rocket_support(importance, refill, s, 0.005);
  ASSERT_EQ(rows.sizes(), (std::vector<int64_t>{s, m}));
  for (int64_t j = 0; j < m; ++j) {
    std::vector<int64_t> order(r);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return importance[a][j].item<double>() > importance[b][j].item<double>(); });
    std::set<int64_t> expected(order.begin(), order.begin() + (s - 2));
    std::vector<int64_t> rest(order.begin() + (s - 2), order.end());
    std::sort(rest.begin(), rest.end(), [&](int64_t a, int64_t b) { return refill[a][j].item<double>() > refill[b][j].item<double>(); });
    expected.insert(rest.begin(), rest.begin() + 2);
    std::set<int64_t> got;
    for (int64_t t = 0; t < s; ++t) {
      got.insert(rows[t][j].item<int64_t>());
      if (t > 0) EXPECT_LT(rows[t - 1][j].item<int64_t>(), rows[t][j].item<int64_t>());
    }
    EXPECT_EQ(got, expected) << "column " << j;
  }
}

TEST(RocketTest, RidgeDictionaryEqualsTheNormalEquations) {
  at::Tensor w = randn64({12, 20}, 5), v = randn64({6, 20}, 6) * (randn64({6, 20}, 7) > 0).to(torch::kFloat64);
  at::Tensor gram = torch::matmul(v, v.t());
  double mu = std::max(1e-6, 1e-3 * gram.trace().item<double>() / 6);
  at::Tensor expected = torch::matmul(torch::matmul(w, v.t()), at::linalg_inv(gram + mu * torch::eye(6, gram.options())));
  EXPECT_TRUE(torch::allclose(ridge_dictionary(w, v), expected, 1e-9, 1e-11));
}

TEST(RocketTest, LeastSquaresRefitNeverIncreasesTheWhitenedErrorOfTheEigenbasis) {
  for (uint64_t seed : {10, 11, 12}) {
    DenseLinear layer = layer_of(24, 40, seed);
    DictProblem problem = whiten_group({&layer}, {gram_of(24, seed + 50)});
    RocketBasis basis = basis_of(problem, layer);
    for (auto [r, s] : std::vector<std::pair<int64_t, int64_t>>{{16, 8}, {20, 5}, {12, 11}, {24, 1}}) {
      RocketFit fit = fit_rocket(problem.whitened, basis, {r, s, 0.5, 0.005, 0, 1e-3});
      at::Tensor v = dense_code(fit.fit.code, r);
      double eigen = squared(problem.whitened, basis.u.narrow(1, 0, r), v);
      double least_squares = squared(problem.whitened, ridge_dictionary(problem.whitened, v), v);
      EXPECT_LE(least_squares, eigen * (1 + 1e-12)) << "seed " << seed << " r " << r << " s " << s;
      EXPECT_NEAR(fit.eigenbasis_error, eigen, 1e-9 * eigen);
      EXPECT_LE(fit.fit.objective[0], eigen * (1 + 1e-12));
    }
  }
}

TEST(RocketTest, WithKsOneItIsSvdLlmsFactorization) {
  DenseLinear layer = layer_of(20, 32, 21);
  at::Tensor gram = gram_of(20, 22);
  DictProblem problem = whiten_group({&layer}, {gram});
  for (int64_t r : {1, 7, 15}) {
    RocketFit fit = fit_rocket(problem.whitened, basis_of(problem, layer), {r, r, 0.5, 0.005, 0, 1e-3});
    EXPECT_EQ(fit.chosen, "eigenbasis");
    at::Tensor dewhitened = at::linalg_solve_triangular(problem.lower.t(), fit.fit.dictionary, true);
    at::Tensor rocket_w = torch::matmul(dewhitened, dense_code(fit.fit.code, r));  // [in, out]
    at::Tensor svd_llm_w = compress_svd_llm(layer, gram, r).layer->dense().t().to(torch::kFloat64);
    EXPECT_TRUE(torch::allclose(rocket_w, svd_llm_w, 1e-4, 1e-5)) << "rank " << r;  // SVD-LLM stores float32
  }
}

TEST(RocketTest, RefinementIsKeptOnlyWhenItLowersTheError) {
  DenseLinear layer = layer_of(16, 24, 31);
  DictProblem problem = whiten_group({&layer}, {gram_of(16, 32)});
  RocketBasis basis = basis_of(problem, layer);
  RocketFit plain = fit_rocket(problem.whitened, basis, {12, 4, 0.5, 0.005, 0, 1e-3});
  RocketFit refined = fit_rocket(problem.whitened, basis, {12, 4, 0.5, 0.005, 200, 1e-3});
  EXPECT_GE(refined.refined_error, 0.0);
  EXPECT_LE(refined.fit.objective[0], plain.fit.objective[0]);
  EXPECT_TRUE(refined.fit.code.rows.equal(plain.fit.code.rows));  // the support stays fixed
  double direct = squared(problem.whitened, refined.fit.dictionary, dense_code(refined.fit.code, 12));
  EXPECT_NEAR(direct, refined.fit.objective[0], 1e-9 * direct);
}

TEST(RocketTest, SizesFollowTheReferenceFormulas) {
  DictCost effective{Accounting::kEffective, 0, 128};
  auto low_rank = rocket_size(64, 172, 0.3, 1.0, effective);
  ASSERT_TRUE(low_rank);
  EXPECT_EQ(low_rank->atoms, static_cast<int64_t>(std::floor(0.7 * 64 * 172 / (64.0 + 172))));
  EXPECT_EQ(low_rank->nonzeros, low_rank->atoms);
  auto sparse = rocket_size(64, 172, 0.3, 2.0, effective);  // k = (1 − cr) d1 d2 / (d1 + d2 / ks), s = k / ks
  ASSERT_TRUE(sparse);
  EXPECT_EQ(sparse->atoms, static_cast<int64_t>(std::floor(0.7 * 64 * 172 / (64 + 172 / 2.0))));
  EXPECT_EQ(sparse->nonzeros, sparse->atoms / 2);
  EXPECT_LE(sparse->kept_words, 0.7 * 64 * 172);
  EXPECT_FALSE(rocket_size(64, 172, 0.05, 2.0, effective));  // k = 69 > min(d1, d2): skipped, as the reference does
  DictCost full{Accounting::kFull, 0, 128};
  auto with_index = rocket_size(64, 172, 0.3, 2.0, full);  // the bitmask costs d2/16 words per atom
  ASSERT_TRUE(with_index);
  EXPECT_EQ(with_index->atoms, static_cast<int64_t>(std::floor(0.7 * 64 * 172 / (64 + 172 / 2.0 + 172 / 16.0))));
  EXPECT_LE(with_index->kept_words, 0.7 * 64 * 172);
}

// Quantized factors are sized as stored: int8/int4 codes plus an fp16 scale per group (dict_size.h), low rank (ks 1)
// included as DictSparse with s = r and its index; the same rate then buys more atoms than with 16-bit values, and a
// size whose atoms would exceed min(d1, d2) is skipped as for 16-bit values (low rates at int4, for instance).
TEST(RocketTest, QuantizedSizesCountCodesScalesAndIndex) {
  int valid = 0;
  for (int bits : {8, 4}) {
    DictCost cost{Accounting::kFull, bits, 128};
    for (double rate : {0.3, 0.5, 0.7}) {
      for (double ks : {1.0, 2.0}) {
        auto size = rocket_size(64, 172, rate, ks, cost);
        if (!size) continue;
        ++valid;
        double words = dict_words(64, 172, 1, {size->atoms, size->nonzeros}, cost);
        EXPECT_DOUBLE_EQ(size->kept_words, words);
        EXPECT_LE(words, (1 - rate) * 64 * 172);
        EXPECT_LE(size->atoms, 64);
        EXPECT_EQ(size->nonzeros, ks == 1.0 ? size->atoms : size->atoms / 2);
        auto unquantized = rocket_size(64, 172, rate, ks, DictCost{Accounting::kFull, 0, 128});
        if (unquantized) EXPECT_GT(size->atoms, unquantized->atoms) << bits << " " << rate << " " << ks;
      }
    }
  }
  EXPECT_GE(valid, 6);
  EXPECT_FALSE(rocket_size(64, 172, 0.3, 2.0, DictCost{Accounting::kFull, 4, 128}));  // 111 atoms > 64
}

TEST(RocketProfileTest, KeepsTheBestKsPerRateAfterTheUncompressedOption) {
  DenseLinear layer = layer_of(24, 40, 41);
  at::Tensor gram = gram_of(24, 42);
  ProfileSettings settings;
  settings.grid = {{0.2, 0.4}, {1.0, 1.5, 2.0}};
  settings.metric = ProfileMetric::kWeight;
  MatrixProfile profile = profile_matrix("m", layer, gram, settings);
  ASSERT_EQ(profile.options.size(), 3u);
  EXPECT_EQ(profile.options[0].rate, 0.0);
  EXPECT_EQ(profile.options[0].error, 0.0);
  DictProblem problem = whiten_group({&layer}, {gram});
  RocketBasis basis = basis_of(problem, layer);
  at::Tensor w = layer.dense().t().to(torch::kFloat64);
  for (size_t i = 1; i < profile.options.size(); ++i) {
    const ProfileOption& chosen = profile.options[i];
    for (double ks : settings.grid.ks) {  // every other ks at this rate, its original-space error computed here
      auto size = rocket_size(24, 40, chosen.rate, ks, settings.cost);
      if (!size) continue;
      RocketFit fit = fit_rocket(problem.whitened, basis, {size->atoms, size->nonzeros, 0.5, 0.005, 0, 1e-3});
      at::Tensor w_hat = at::linalg_solve_triangular(problem.lower.t(),
                                                     torch::matmul(fit.fit.dictionary, dense_code(fit.fit.code, size->atoms)), true);
      double error = (w_hat - w).norm().item<double>() / w.norm().item<double>();
      EXPECT_LE(chosen.error, error + 1e-9) << "rate " << chosen.rate << " ks " << ks;
    }
  }
  EXPECT_LT(profile.options[1].error, profile.options[2].error);  // removing more costs more
}

// ‖X (W − Ŵ)‖_F / ‖X W‖_F with every product summed by plain loops (W, Ŵ in the [in, out] convention).
double activation_error_loop(const at::Tensor& x, const at::Tensor& w, const at::Tensor& w_hat) {
  auto xa = x.accessor<double, 2>();
  auto wa = w.accessor<double, 2>(), ha = w_hat.accessor<double, 2>();
  double error = 0.0, energy = 0.0;
  for (int64_t n = 0; n < x.size(0); ++n) {
    for (int64_t j = 0; j < w.size(1); ++j) {
      double exact = 0.0, approx = 0.0;
      for (int64_t i = 0; i < x.size(1); ++i) exact += xa[n][i] * wa[i][j], approx += xa[n][i] * ha[i][j];
      error += (exact - approx) * (exact - approx), energy += exact * exact;
    }
  }
  return std::sqrt(error / energy);
}

TEST(RocketProfileTest, WhitenedMetricIsTheActivationErrorOfTheChosenFit) {
  DenseLinear layer = layer_of(24, 40, 43);
  at::Tensor x = torch::matmul(randn64({96, 24}, 44), randn64({24, 24}, 45));  // calibration rows, correlated
  at::Tensor gram = torch::matmul(x.t(), x);
  ProfileSettings settings;
  settings.grid = {{0.2, 0.4}, {1.0, 1.5, 2.0}};
  settings.metric = ProfileMetric::kWhitened;
  MatrixProfile profile = profile_matrix("m", layer, gram, settings);
  ASSERT_EQ(profile.options.size(), 3u);
  DictProblem problem = whiten_group({&layer}, {gram});
  RocketBasis basis = basis_of(problem, layer);
  at::Tensor w = layer.dense().t().to(torch::kFloat64);
  for (size_t i = 1; i < profile.options.size(); ++i) {
    const ProfileOption& chosen = profile.options[i];
    double best = 1e300;
    for (double ks : settings.grid.ks) {
      auto size = rocket_size(24, 40, chosen.rate, ks, settings.cost);
      if (!size) continue;
      RocketFit fit = fit_rocket(problem.whitened, basis, {size->atoms, size->nonzeros, 0.5, 0.005, 0, 1e-3});
      at::Tensor w_hat = at::linalg_solve_triangular(problem.lower.t(),
                                                     torch::matmul(fit.fit.dictionary, dense_code(fit.fit.code, size->atoms)), true);
      double error = activation_error_loop(x, w, w_hat);
      if (std::abs(ks - chosen.ks) < 1e-12) EXPECT_NEAR(chosen.error, error, 1e-9) << "rate " << chosen.rate << " ks " << ks;
      best = std::min(best, error);
    }
    EXPECT_NEAR(chosen.error, best, 1e-9) << "rate " << chosen.rate;  // the best ks of the rate
  }
  EXPECT_LT(profile.options[1].error, profile.options[2].error);
}

// --quantize auto profiles every rate at 16, 8 and 4 bits; each quantized option's error is that of the layer
// compress stores (its dequantized weight against W, a float64 loop), within the rate's budget of words.
TEST(RocketProfileTest, QuantizedOptionsCarryTheErrorOfTheStoredLayer) {
  DenseLinear layer = layer_of(64, 96, 46);
  LayerStats stats;
  stats.accumulate(torch::matmul(randn64({256, 64}, 47), randn64({64, 64}, 48)));  // correlated calibration rows
  at::Tensor gram = stats.gram;
  ProfileSettings settings;
  settings.grid = {{0.5, 0.7}, {1.0, 2.0}};
  settings.cost.quantize_bits = -1;
  settings.cost.quant_group = 32;
  MatrixProfile profile = profile_matrix("m", layer, gram, settings);
  ASSERT_EQ(profile.options.size(), 7u);  // uncompressed, then 2 rates at each of 16, 8 and 4 bits
  EXPECT_EQ((std::vector<int>{profile.options[1].bits, profile.options[3].bits, profile.options[5].bits}),
            (std::vector<int>{0, 8, 4}));
  at::Tensor w = layer.dense().to(torch::kFloat64);
  for (size_t i = 1; i < profile.options.size(); ++i) {
    const ProfileOption& option = profile.options[i];
    std::unique_ptr<Linear> slot = std::make_unique<DenseLinear>(layer.weight());
    RocketCompressOptions rocket;
    compress_rocket_layer(slot, "m", &stats, rocket, option, {option.bits, 32});
    at::Tensor w_hat = slot->dense().to(torch::kFloat64);
    auto wa = w.accessor<double, 2>(), ha = w_hat.accessor<double, 2>();
    double residual = 0.0, energy = 0.0;
    for (int64_t r = 0; r < w.size(0); ++r) {
      for (int64_t c = 0; c < w.size(1); ++c) residual += (wa[r][c] - ha[r][c]) * (wa[r][c] - ha[r][c]), energy += wa[r][c] * wa[r][c];
    }
    EXPECT_NEAR(option.error, std::sqrt(residual / energy), 1e-6 * option.error) << "rate " << option.rate << " bits " << option.bits;
    EXPECT_EQ(slot->format(), option.bits == 0 && option.ks == 1.0 ? "lowrank" : "dictsparse");
  }
  for (const ProfileOption& option : profile.options) {  // every option within its rate's budget, whatever the bits
    EXPECT_LE(option.kept_words, (1.0 - option.rate) * profile.dense_words + 1e-9) << option.rate << " " << option.bits;
  }
}

// --compot-candidates: at every rate the profile keeps COMPOT's fit when its error is lower, so no option is worse
// than ROCKET's own; a COMPOT option's error is that of the layer compress stores (float64 loop), at 16 and 8 bits.
TEST(RocketProfileTest, CompotCandidatesNeverRaiseAnOptionsErrorAndAreStoredAsProfiled) {
  DenseLinear layer = layer_of(48, 32, 49);  // in > out: COMPOT may use up to 48 atoms, ROCKET up to 32
  LayerStats stats;
  stats.accumulate(torch::matmul(randn64({256, 48}, 50), randn64({48, 48}, 51)));
  at::Tensor w = layer.dense().to(torch::kFloat64);
  int compot_options = 0;
  for (int bits : {0, 8}) {
    ProfileSettings settings;
    settings.grid = {{0.2, 0.4, 0.6}, {1.0, 1.5, 2.0}};
    settings.cost.quantize_bits = bits;
    settings.cost.quant_group = 32;
    MatrixProfile rocket_only = profile_matrix("m", layer, stats.gram, settings);
    settings.compot_candidates = true;
    MatrixProfile both = profile_matrix("m", layer, stats.gram, settings);
    ASSERT_EQ(both.options.size(), rocket_only.options.size());
    for (size_t i = 1; i < both.options.size(); ++i) {
      const ProfileOption& option = both.options[i];
      EXPECT_LE(option.error, rocket_only.options[i].error + 1e-12) << "rate " << option.rate << " bits " << bits;
      if (!option.compot) continue;
      ++compot_options;
      std::unique_ptr<Linear> slot = std::make_unique<DenseLinear>(layer.weight());
      compress_rocket_layer(slot, "m", &stats, RocketCompressOptions{}, option, {bits, 32});
      EXPECT_EQ(slot->format(), "dictsparse");
      double error = (slot->dense().to(torch::kFloat64) - w).norm().item<double>() / w.norm().item<double>();
      EXPECT_NEAR(option.error, error, 1e-6 * error) << "rate " << option.rate << " bits " << bits;
    }
  }
  EXPECT_GT(compot_options, 0);
}

TEST(RocketProfileTest, GridParsingAndBadGrids) {
  std::vector<double> rates = parse_grid_list("0.05:0.70:0.05", "--rates");
  ASSERT_EQ(rates.size(), 14u);
  EXPECT_DOUBLE_EQ(rates.back(), 0.70);
  EXPECT_EQ(parse_grid_list("1,1.5,2", "--ks"), (std::vector<double>{1.0, 1.5, 2.0}));
  EXPECT_EQ(default_profile_grid().ks.size(), 21u);
  EXPECT_THROW(parse_grid_list("0.1:x:0.1", "--rates"), Error);
  EXPECT_THROW(check_profile_grid({{0.2}, {0.5, 1.0}}), Error);  // ks < 1
  EXPECT_THROW(check_profile_grid({{1.2}, {1.0}}), Error);
  EXPECT_THROW(check_profile_grid({{}, {1.0}}), Error);
}

}  // namespace
