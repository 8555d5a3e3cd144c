// ReplaceMe transforms on random data: the float64 normal-equation Cholesky solve, accumulated in
// several chunks, equals torch's QR least squares on the stacked float64 data (and the ridge solution
// equals the QR solution of the augmented system); too few tokens is an error naming the count; the
// cosine fit starts at the identity (0 epochs return it exactly, the first recorded objective equals
// a float64 loop at T = I) and its objective does not increase from epoch to epoch.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "lmshrink/prune/cosine_transform.h"
#include "lmshrink/prune/lstsq_transform.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"

namespace {

struct Problem {
  at::Tensor m, r, t_true;  // M [tokens, d], R [tokens, d] = M T_true + noise, float32
};

Problem random_problem(int64_t tokens, int64_t hidden, double noise, uint64_t seed) {
  torch::manual_seed(seed);
  Problem p;
  p.m = torch::randn({tokens, hidden}) * torch::linspace(0.2, 3.0, hidden);  // uneven column scales
  p.t_true = torch::eye(hidden) + 0.3 * torch::randn({hidden, hidden});
  p.r = p.m.matmul(p.t_true) + noise * torch::randn({tokens, hidden});
  return p;
}

double relative(const at::Tensor& a, const at::Tensor& b) { return ((a - b).norm() / b.norm()).item<double>(); }

TEST(PruneTransformTest, LeastSquaresEqualsClosedFormFloat64Solve) {
  Problem p = random_problem(700, 24, 0.5, 1);
  lmshrink::LstsqAccumulator acc(24);
  acc.add(p.m.narrow(0, 0, 300), p.r.narrow(0, 0, 300));  // chunks: sums over all tokens
  acc.add(p.m.narrow(0, 300, 400), p.r.narrow(0, 300, 400));
  EXPECT_EQ(acc.tokens(), 700);
  at::Tensor t = lmshrink::solve_lstsq_transform(acc, 0.0);
  ASSERT_EQ(t.scalar_type(), torch::kFloat64);
  at::Tensor m64 = p.m.to(torch::kFloat64), r64 = p.r.to(torch::kFloat64);
  at::Tensor expected = std::get<0>(torch::linalg_lstsq(m64, r64, c10::nullopt, "gelsd"));  // [24, 24]
  EXPECT_LE(relative(t, expected), 1e-10);
  // the noise-free case recovers T exactly (up to float32 data)
  Problem exact = random_problem(200, 16, 0.0, 2);
  lmshrink::LstsqAccumulator acc_exact(16);
  acc_exact.add(exact.m, exact.r);
  EXPECT_LE(relative(lmshrink::solve_lstsq_transform(acc_exact, 0.0), exact.t_true.to(torch::kFloat64)), 1e-5);
}

TEST(PruneTransformTest, RidgeEqualsTheAugmentedLeastSquaresSystem) {
  Problem p = random_problem(100, 12, 0.3, 3);
  double ridge = 25.0;
  lmshrink::LstsqAccumulator acc(12);
  acc.add(p.m, p.r);
  at::Tensor t = lmshrink::solve_lstsq_transform(acc, ridge);
  // min ||M T - R||^2 + ridge ||T||^2 = min ||[M; sqrt(ridge) I] T - [R; 0]||^2
  at::Tensor a = torch::cat({p.m.to(torch::kFloat64), std::sqrt(ridge) * torch::eye(12, torch::kFloat64)}, 0);
  at::Tensor b = torch::cat({p.r.to(torch::kFloat64), torch::zeros({12, 12}, torch::kFloat64)}, 0);
  at::Tensor expected = std::get<0>(torch::linalg_lstsq(a, b, c10::nullopt, "gelsd"));
  EXPECT_LE(relative(t, expected), 1e-10);
}

TEST(PruneTransformTest, TooFewTokensForTheSystemIsAnErrorSayingHowManyAreNeeded) {
  Problem p = random_problem(10, 16, 0.0, 4);
  lmshrink::LstsqAccumulator acc(16);
  acc.add(p.m, p.r);
  try {
    lmshrink::solve_lstsq_transform(acc, 0.0);
    FAIL() << "expected an error";
  } catch (const lmshrink::Error& e) {
    EXPECT_NE(std::string(e.what()).find("need at least 16"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(lmshrink::solve_lstsq_transform(acc, 1e-3));  // a ridge makes it solvable
  // enough rows, but rank-deficient M: Cholesky fails and the message names --ridge
  at::Tensor low_rank = torch::randn({50, 4}).matmul(torch::randn({4, 16}));
  lmshrink::LstsqAccumulator singular(16);
  singular.add(low_rank, low_rank);
  EXPECT_THROW(lmshrink::solve_lstsq_transform(singular, 0.0), lmshrink::Error);
}

// mean over rows of 1 - cos(M_k T, R_k), in a plain float64 loop.
double cosine_loss_loop(const at::Tensor& m, const at::Tensor& r, const at::Tensor& t) {
  at::Tensor mt = m.to(torch::kFloat64).matmul(t.to(torch::kFloat64)), r64 = r.to(torch::kFloat64);
  double total = 0.0;
  for (int64_t row = 0; row < m.size(0); ++row) {
    double dot = 0.0, na = 0.0, nb = 0.0;
    for (int64_t i = 0; i < m.size(1); ++i) {
      double x = mt[row][i].item<double>(), y = r64[row][i].item<double>();
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    total += 1.0 - dot / std::sqrt(na * nb);
  }
  return total / m.size(0);
}

TEST(PruneTransformTest, CosineFitStartsAtTheIdentity) {
  lmshrink::set_progress_quiet(true);
  Problem p = random_problem(300, 8, 0.2, 5);
  lmshrink::CosineOptions options;
  options.epochs = 0;
  lmshrink::CosineFit fit = lmshrink::fit_cosine_transform(p.m, p.r, options);
  EXPECT_TRUE(torch::equal(fit.transform, torch::eye(8, torch::kFloat64)));
  ASSERT_EQ(fit.epoch_loss.size(), 1u);
  EXPECT_NEAR(fit.epoch_loss[0], cosine_loss_loop(p.m, p.r, torch::eye(8)), 1e-9);
}

TEST(PruneTransformTest, CosineObjectiveDecreasesMonotonicallyOverEpochs) {
  lmshrink::set_progress_quiet(true);
  Problem p = random_problem(4096, 16, 0.1, 6);
  lmshrink::CosineOptions options;  // paper settings: Adam lr 1e-4, 1024-token batches, 10 epochs
  options.seed = 7;
  lmshrink::CosineFit fit = lmshrink::fit_cosine_transform(p.m, p.r, options);
  ASSERT_EQ(fit.epoch_loss.size(), 11u);
  EXPECT_NEAR(fit.epoch_loss[0], cosine_loss_loop(p.m, p.r, torch::eye(16)), 1e-9);
  for (size_t e = 1; e < fit.epoch_loss.size(); ++e) {
    EXPECT_LE(fit.epoch_loss[e], fit.epoch_loss[e - 1] + 1e-7) << "epoch " << e;  // float32 noise only
  }
  EXPECT_LT(fit.epoch_loss.back(), fit.epoch_loss.front() - 1e-3);  // lr 1e-4 x 40 steps moves T a little
  EXPECT_NEAR(fit.epoch_loss.back(), cosine_loss_loop(p.m, p.r, fit.transform), 1e-9);
  // same seed, same result; with a penalty the objective includes it
  lmshrink::CosineFit again = lmshrink::fit_cosine_transform(p.m, p.r, options);
  EXPECT_TRUE(torch::equal(fit.transform, again.transform));
  options.epochs = 0;
  options.l2 = 0.01;
  EXPECT_NEAR(lmshrink::fit_cosine_transform(p.m, p.r, options).epoch_loss[0],
              cosine_loss_loop(p.m, p.r, torch::eye(16)) + 0.01 * 16, 1e-9);
}

}  // namespace
