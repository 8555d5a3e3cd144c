// The naive dictionary-learning reference (reference/naive_dict.h) against closed forms, so that it can
// in turn serve as the reference for the fast code: for an orthonormal dictionary OMP picks the top-s
// correlations and is optimal, hard thresholding equals the exhaustive best subset, a K-SVD sweep
// never increases the error, and Procrustes returns an orthonormal dictionary that never increases
// the error for a fixed code. Sizes are tiny (n <= 8, k <= 10, m <= 12).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "reference/naive_dict.h"

namespace {

namespace ref = lmshrink::reference;

at::Tensor random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  return at::normal(0.0, 1.0, {rows, cols}, g, at::TensorOptions().dtype(at::kDouble));
}

// Q of a random [n, k] matrix: orthonormal columns, k <= n.
at::Tensor random_orthonormal(int64_t n, int64_t k, uint64_t seed) {
  return std::get<0>(at::linalg_qr(random_matrix(n, k, seed)));
}

at::Tensor random_unit_columns(int64_t n, int64_t k, uint64_t seed) {
  at::Tensor d = random_matrix(n, k, seed);
  return d / d.pow(2).sum({0}, /*keepdim=*/true).sqrt();
}

double max_abs_difference(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(NaiveDictTest, OmpSupportIsTopCorrelationsForOrthonormalDictionary) {
  const int64_t n = 8, k = 6, m = 12, s = 3;
  at::Tensor d = random_orthonormal(n, k, 1);
  at::Tensor w = random_matrix(n, m, 2);
  ref::NaiveCode code = ref::naive_omp(d, w, s);
  ASSERT_EQ(code.rows.sizes(), (at::IntArrayRef{s, m}));
  ASSERT_EQ(code.values.sizes(), (at::IntArrayRef{s, m}));

  at::Tensor c_k_m = at::matmul(d.t(), w);  // DᵀW
  for (int64_t j = 0; j < m; ++j) {
    // Closed form: the support is the s largest |c_j| in decreasing order, the coefficients are c_j there.
    std::vector<int64_t> order(k);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return std::abs(c_k_m[a][j].item<double>()) > std::abs(c_k_m[b][j].item<double>());
    });
    for (int64_t t = 0; t < s; ++t) {
      EXPECT_EQ(code.rows[t][j].item<int64_t>(), order[t]) << "column " << j << ", step " << t;
      EXPECT_NEAR(code.values[t][j].item<double>(), c_k_m[order[t]][j].item<double>(), 1e-12);
    }
  }

  at::Tensor omp_k_m = ref::dense_coefficients(code, k);
  at::Tensor best_k_m = ref::brute_force_best_subset(d, w, s);
  double omp_error = ref::squared_error(d, omp_k_m, w);
  double best_error = ref::squared_error(d, best_k_m, w);
  // ‖W‖² − Σ_j (sum of the s largest c_ij²), since D is orthonormal.
  double closed_form = w.pow(2).sum().item<double>() -
                       std::get<0>(at::topk(c_k_m.pow(2), s, /*dim=*/0)).sum().item<double>();
  EXPECT_NEAR(omp_error, best_error, 1e-10 * closed_form);
  EXPECT_NEAR(omp_error, closed_form, 1e-10 * closed_form);
}

TEST(NaiveDictTest, BruteForceIsNoWorseThanOmpOnOvercompleteDictionary) {
  const int64_t n = 6, k = 8, m = 12, s = 3;
  for (uint64_t seed = 0; seed < 2; ++seed) {
    at::Tensor d = random_unit_columns(n, k, 10 + seed);
    at::Tensor w = random_matrix(n, m, 20 + seed);
    at::Tensor omp_k_m = ref::dense_coefficients(ref::naive_omp(d, w, s), k);
    at::Tensor best_k_m = ref::brute_force_best_subset(d, w, s);
    EXPECT_TRUE(((omp_k_m != 0).sum(0) == s).all().item<bool>());
    EXPECT_TRUE(((best_k_m != 0).sum(0) == s).all().item<bool>());
    EXPECT_LE(ref::squared_error(d, best_k_m, w), ref::squared_error(d, omp_k_m, w) * (1.0 + 1e-12));
  }
}

TEST(NaiveDictTest, KsvdUpdateNeverIncreasesSquaredError) {
  const int64_t n = 6, k = 10, m = 12, s = 2;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    at::Tensor d = random_unit_columns(n, k, 30 + seed);
    at::Tensor w = random_matrix(n, m, 40 + seed);
    at::Tensor coefficients_k_m = ref::dense_coefficients(ref::naive_omp(d, w, s), k);
    at::Tensor support_before = coefficients_k_m != 0;
    const double omp_error = ref::squared_error(d, coefficients_k_m, w);
    double error = omp_error;
    for (int sweep = 0; sweep < 3; ++sweep) {  // repeated sweeps on the same support
      ref::naive_ksvd_update(d, coefficients_k_m, w);
      double updated = ref::squared_error(d, coefficients_k_m, w);
      EXPECT_LE(updated, error * (1.0 + 1e-12) + 1e-14) << "seed " << seed << ", sweep " << sweep;
      error = updated;
    }
    EXPECT_LT(error, omp_error * (1.0 - 1e-6)) << "seed " << seed << ": no strict improvement";
    // Atoms stay unit-norm and no coefficient outside the original support becomes nonzero.
    EXPECT_LE(max_abs_difference(d.pow(2).sum(0), at::ones({k}, d.options())), 1e-12);
    EXPECT_FALSE(((coefficients_k_m != 0) & support_before.logical_not()).any().item<bool>());
  }
}

TEST(NaiveDictTest, NaiveKsvdRecordsObjectiveAndImprovesOnInitialCode) {
  const int64_t n = 6, k = 8, m = 12, s = 2, iterations = 4;
  at::Tensor w = random_matrix(n, m, 50);
  at::Tensor init = w.narrow(1, 0, k).clone() * 3.0;  // k target columns, not normalised
  at::Tensor init_copy = init.clone();
  at::Tensor normalised = init / init.pow(2).sum({0}, true).sqrt();
  at::Tensor initial_code_k_m = ref::dense_coefficients(ref::naive_omp(normalised, w, s), k);
  double initial_error = ref::squared_error(normalised, initial_code_k_m, w);

  at::Tensor d = init;
  std::vector<double> history;
  at::Tensor coefficients_k_m = ref::naive_ksvd(d, w, s, iterations, &history);
  ASSERT_EQ(static_cast<int64_t>(history.size()), iterations);
  EXPECT_LE(history[0], initial_error * (1.0 + 1e-12));
  EXPECT_NEAR(history.back(), ref::squared_error(d, coefficients_k_m, w), 1e-12 * initial_error);
  EXPECT_LE(max_abs_difference(d.pow(2).sum(0), at::ones({k}, d.options())), 1e-12);
  EXPECT_TRUE(((coefficients_k_m != 0).sum(0) <= s).all().item<bool>());
  EXPECT_EQ(max_abs_difference(init, init_copy), 0.0);  // the initial tensor is not written
}

TEST(NaiveDictTest, HardThresholdMatchesBruteForceForOrthonormalDictionary) {
  const int64_t n = 8, m = 12, s = 3;
  for (int64_t k : {5, 8}) {  // under-complete and complete
    at::Tensor d = random_orthonormal(n, k, 60 + k);
    at::Tensor w = random_matrix(n, m, 70 + k);
    at::Tensor threshold_k_m = ref::naive_hard_threshold(d, w, s);
    at::Tensor best_k_m = ref::brute_force_best_subset(d, w, s);
    EXPECT_TRUE(((threshold_k_m != 0).sum(0) == s).all().item<bool>());
    double best_error = ref::squared_error(d, best_k_m, w);
    EXPECT_NEAR(ref::squared_error(d, threshold_k_m, w), best_error, 1e-10 * best_error) << "k = " << k;
    EXPECT_LE(max_abs_difference(threshold_k_m, best_k_m), 1e-10) << "k = " << k;
  }
}

TEST(NaiveDictTest, ProcrustesIsOrthonormalAndNeverIncreasesErrorForFixedCode) {
  const int64_t n = 8, k = 6, m = 12, s = 3;
  at::Tensor d0 = random_orthonormal(n, k, 80);
  at::Tensor w = random_matrix(n, m, 81);
  at::Tensor coefficients_k_m = ref::naive_hard_threshold(d0, w, s);
  at::Tensor d1 = ref::naive_procrustes(w, coefficients_k_m);
  ASSERT_EQ(d1.sizes(), (at::IntArrayRef{n, k}));
  EXPECT_LE(max_abs_difference(at::matmul(d1.t(), d1), at::eye(k, d1.options())), 1e-10);
  double procrustes_error = ref::squared_error(d1, coefficients_k_m, w);
  EXPECT_LE(procrustes_error, ref::squared_error(d0, coefficients_k_m, w) * (1.0 + 1e-12));
  // Optimal over all orthonormal dictionaries: no random one does better.
  for (uint64_t seed = 0; seed < 5; ++seed) {
    EXPECT_LE(procrustes_error, ref::squared_error(random_orthonormal(n, k, 90 + seed), coefficients_k_m, w));
  }
}

TEST(NaiveDictTest, RejectsNonFloat64AndBadSparsity) {
  at::Tensor d = random_unit_columns(4, 5, 100);
  at::Tensor w = random_matrix(4, 3, 101);
  EXPECT_THROW(ref::naive_omp(d.to(at::kFloat), w, 2), c10::Error);
  EXPECT_THROW(ref::naive_omp(d, w, 0), c10::Error);
  EXPECT_THROW(ref::naive_omp(d, w, 6), c10::Error);
  EXPECT_THROW(ref::naive_omp(d * 2.0, w, 2), c10::Error);           // atoms not unit-norm
  EXPECT_THROW(ref::naive_hard_threshold(d, w, 2), c10::Error);      // k > n, not orthonormal
}

}  // namespace
