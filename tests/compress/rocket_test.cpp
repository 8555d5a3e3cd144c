// ROCKET's factorization and profile against independent references: the support keeps exactly s entries per
// column, chosen as a plain loop over sorted scores says; the ridge dictionary equals the normal equations solved by
// an explicit float64 inverse; the least-squares refit never increases the whitened error of the eigenbasis factor;
// with s = r (ks = 1) ROCKET is SVD-LLM's truncated factorization; the size rule is the reference code's formula;
// the profile keeps the best ks per rate and its JSON round-trips and rejects inconsistent files.
#include "lmshrink/compress/rocket.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

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
    RocketBasis basis = rocket_basis(problem.whitened, problem.lower);
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
    RocketFit fit = fit_rocket(problem.whitened, rocket_basis(problem.whitened, problem.lower), {r, r, 0.5, 0.005, 0, 1e-3});
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
  RocketBasis basis = rocket_basis(problem.whitened, problem.lower);
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

TEST(RocketProfileTest, KeepsTheBestKsPerRateAfterTheUncompressedOption) {
  DenseLinear layer = layer_of(24, 40, 41);
  at::Tensor gram = gram_of(24, 42);
  ProfileSettings settings;
  settings.grid = {{0.2, 0.4}, {1.0, 1.5, 2.0}};
  MatrixProfile profile = profile_matrix("m", layer, gram, settings);
  ASSERT_EQ(profile.options.size(), 3u);
  EXPECT_EQ(profile.options[0].rate, 0.0);
  EXPECT_EQ(profile.options[0].error, 0.0);
  DictProblem problem = whiten_group({&layer}, {gram});
  RocketBasis basis = rocket_basis(problem.whitened, problem.lower);
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
