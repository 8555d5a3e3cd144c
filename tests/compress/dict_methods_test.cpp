// The sparse-dictionary solvers against independent references (tests/reference/naive_dict.h, brute force,
// closed forms): Batch-OMP equals per-column OMP and, for orthonormal dictionaries, the best subset; it is never
// worse than the best single atom; every K-SVD atom update and every COMPOT half step leaves the whitened
// objective non-increasing; COMPOT's dictionary stays orthonormal; k = in, s = k reproduces W; the size solver
// matches the papers' worked examples; bad sizes are errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lmshrink/compress/compot.h"
#include "lmshrink/compress/cospadi.h"
#include "lmshrink/compress/dict_group.h"
#include "lmshrink/compress/dict_size.h"
#include "lmshrink/compress/omp.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"
#include "reference/naive_dict.h"

namespace {

using namespace lmshrink;

at::Tensor randn64(std::vector<int64_t> shape, uint64_t seed) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  return torch::randn(shape, g, torch::kFloat64);
}

at::Tensor unit_columns(const at::Tensor& d) { return d / d.norm(2, 0, true); }

at::Tensor orthonormal(int64_t n, int64_t k, uint64_t seed) {
  return std::get<0>(at::linalg_qr(randn64({n, k}, seed))).contiguous();
}

double error_of(const at::Tensor& d, const SparseCode& code, const at::Tensor& w) {
  return reference::squared_error(d, dense_code(code, d.size(1)), w);
}

TEST(OmpTest, BatchedEqualsPerColumnReferenceOmp) {
  for (uint64_t seed : {1, 2, 3}) {
    at::Tensor d = unit_columns(randn64({10, 16}, seed)), w = randn64({10, 23}, seed + 100);
    SparseCode fast = batched_omp(d, w, 4, /*batch_columns=*/7);  // several batches, one partial
    reference::NaiveCode slow = reference::naive_omp(d, w, 4);
    // Bitwise on supports only: integer argmax choices in float64, whose gaps on these seeds are far above rounding.
    EXPECT_TRUE(fast.rows.equal(slow.rows)) << "seed " << seed;
    EXPECT_TRUE(torch::allclose(fast.values, slow.values, 1e-9, 1e-10)) << "seed " << seed;
  }
}

TEST(OmpTest, EqualsBestSubsetForOrthonormalDictionaries) {
  at::Tensor d = orthonormal(8, 7, 5), w = randn64({8, 12}, 6);
  for (int64_t s : {1, 2, 3, 5}) {
    double best = reference::squared_error(d, reference::brute_force_best_subset(d, w, s), w);
    EXPECT_NEAR(error_of(d, batched_omp(d, w, s), w), best, 1e-9 * (1 + best)) << "s " << s;
  }
}

TEST(OmpTest, NeverWorseThanTheBestSingleAtomAndMonotoneInS) {
  at::Tensor d = unit_columns(randn64({6, 12}, 7)), w = randn64({6, 30}, 8);
  double single = reference::squared_error(d, reference::brute_force_best_subset(d, w, 1), w);
  double previous = single;
  for (int64_t s = 1; s <= 6; ++s) {
    SparseCode code = batched_omp(d, w, s);
    at::Tensor per_column = (w - torch::matmul(d, dense_code(code, 12))).pow(2).sum(0);
    at::Tensor single_per_column =
        (w - torch::matmul(d, reference::brute_force_best_subset(d, w, 1))).pow(2).sum(0);
    EXPECT_TRUE((per_column <= single_per_column + 1e-12).all().item<bool>()) << "s " << s;
    double total = per_column.sum().item<double>();
    EXPECT_LE(total, previous + 1e-12) << "s " << s;
    previous = total;
    EXPECT_EQ(std::get<0>(code.rows.sort(0)).diff(1, 0).ne(0).all().item<bool>(), true);  // distinct atoms
  }
  EXPECT_LT(previous, 1e-18 + 1e-9 * single);  // s = n: exact
}

TEST(OmpTest, RejectsBadSparsity) {
  at::Tensor d = unit_columns(randn64({4, 6}, 1)), w = randn64({4, 3}, 2);
  EXPECT_THROW(batched_omp(d, w, 0), Error);
  EXPECT_THROW(batched_omp(d, w, 7), Error);  // s > k
  EXPECT_THROW(batched_omp(d, randn64({5, 3}, 2), 2), Error);
}

TEST(KsvdTest, EveryAtomUpdateLeavesTheObjectiveNonIncreasing) {
  at::Tensor w = randn64({12, 40}, 11);
  at::Tensor d = ksvd_initial_dictionary(w, 16, 42);
  for (int sweep = 0; sweep < 3; ++sweep) {
    SparseCode code = batched_omp(d, w, 3);
    at::Tensor residual = w - torch::matmul(d, dense_code(code, 16));
    std::vector<double> per_atom{residual.pow(2).sum().item<double>()};
    ksvd_update_atoms(d, code, residual, 8, &per_atom);
    for (size_t i = 1; i < per_atom.size(); ++i) EXPECT_LE(per_atom[i], per_atom[i - 1] * (1 + 1e-12)) << i;
    EXPECT_LT(per_atom.back(), per_atom.front());  // the sweep does something
    // The maintained residual is the true one.
    EXPECT_TRUE(torch::allclose(residual, w - torch::matmul(d, dense_code(code, 16)), 1e-9, 1e-10));
    EXPECT_TRUE(torch::allclose(d.norm(2, 0), torch::ones({16}, torch::kFloat64), 1e-12));
  }
}

TEST(KsvdTest, FitObjectiveNeverIncreasesAndBeatsTheNaiveInitialCode) {
  at::Tensor w = randn64({10, 50}, 12);
  DictFit fit = fit_ksvd(w, {14, 4, 10, 8, 8192, 42});
  ASSERT_EQ(fit.objective.size(), 20u);
  for (size_t i = 1; i < fit.objective.size(); ++i) EXPECT_LE(fit.objective[i], fit.objective[i - 1] * (1 + 1e-12)) << i;
  at::Tensor d0 = ksvd_initial_dictionary(w, 14, 42);
  double initial = reference::squared_error(d0, reference::dense_coefficients(reference::naive_omp(d0, w, 4), 14), w);
  EXPECT_LT(fit.objective.back(), 0.9 * initial);
  EXPECT_NEAR(error_of(fit.dictionary, fit.code, w), fit.objective.back(), 1e-9 * fit.objective.back());
}

TEST(CompotTest, HardThresholdIsTheBestSubsetForOrthonormalD) {
  at::Tensor d = orthonormal(8, 6, 21), w = randn64({8, 15}, 22);
  for (int64_t s : {1, 2, 4}) {
    double best = reference::squared_error(d, reference::brute_force_best_subset(d, w, s), w);
    EXPECT_NEAR(error_of(d, hard_threshold_code(d, w, s), w), best, 1e-9 * (1 + best)) << s;
    EXPECT_TRUE(torch::allclose(dense_code(hard_threshold_code(d, w, s), 6), reference::naive_hard_threshold(d, w, s), 0, 1e-12));
  }
}

TEST(CompotTest, DictionaryStaysOrthonormalAndEveryHalfStepIsNonIncreasing) {
  at::Tensor w = randn64({16, 60}, 31);
  DictFit fit = fit_compot(w, {12, 5, 40, 0.0});
  at::Tensor gram = torch::matmul(fit.dictionary.t(), fit.dictionary);
  EXPECT_LT((gram - torch::eye(12, torch::kFloat64)).abs().max().item<double>(), 1e-10);
  ASSERT_GE(fit.objective.size(), 3u);
  for (size_t i = 1; i < fit.objective.size(); ++i) EXPECT_LE(fit.objective[i], fit.objective[i - 1] * (1 + 1e-12)) << i;
  EXPECT_LT(fit.objective.back(), fit.objective.front());
  at::Tensor reference_d = reference::naive_procrustes(w, dense_code(fit.code, 12));
  EXPECT_LE(reference::squared_error(reference_d, dense_code(fit.code, 12), w),
            error_of(fit.dictionary, fit.code, w) * (1 + 1e-9));  // the fit is at a Procrustes fixed point or better
}

TEST(CompotTest, RejectsMoreAtomsThanInputsAndSAboveK) {
  at::Tensor w = randn64({6, 10}, 1);
  EXPECT_THROW(fit_compot(w, {7, 3, 5, 0.0}), Error);  // k > in
  EXPECT_THROW(fit_compot(w, {4, 5, 5, 0.0}), Error);  // s > k
  EXPECT_THROW(fit_ksvd(w, {4, 5, 5, 8, 8192, 42}), Error);
}

// A float32 dense layer [out, in] and a positive definite Gram of its input.
struct Problem {
  DenseLinear layer;
  at::Tensor gram;
};

Problem problem(int64_t in, int64_t out, uint64_t seed) {
  at::Tensor x = randn64({4 * in, in}, seed) * torch::linspace(0.2, 3.0, in, torch::kFloat64);
  return {DenseLinear(randn64({out, in}, seed + 1).to(torch::kFloat32)), torch::matmul(x.t(), x)};
}

TEST(DictGroupTest, FullSizeDictionaryReproducesTheWeight) {
  set_progress_quiet(true);
  Problem p = problem(8, 11, 41);
  DictProblem whitened = whiten_group({&p.layer}, {p.gram});
  for (bool compot : {false, true}) {
    DictFit fit = compot ? fit_compot(whitened.whitened, {8, 8, 3, 0.0}) : fit_ksvd(whitened.whitened, {8, 8, 2, 8, 8192, 42});
    EXPECT_LT(fit.objective.back(), 1e-18 * whitened.weight_energy + 1e-20) << compot;
    auto layers = make_group_layers(whitened, fit, {&p.layer}, {"x"}, {});
    EXPECT_TRUE(torch::allclose(layers[0]->dense(), p.layer.weight(), 1e-4, 1e-5)) << compot;
  }
}

TEST(DictGroupTest, GroupSharesOneDictionaryCountedOnce) {
  Problem a = problem(8, 12, 51), b = problem(8, 12, 61);
  DictProblem whitened = whiten_group({&a.layer, &b.layer}, {a.gram, b.gram});
  ASSERT_EQ(whitened.whitened.size(1), 24);
  DictFit fit = fit_compot(whitened.whitened, {6, 3, 10, 0.0});
  auto layers = make_group_layers(whitened, fit, {&a.layer, &b.layer}, {"first", "second"}, {});
  EXPECT_TRUE(layers[0]->owns_dictionary());
  EXPECT_EQ(layers[1]->dictionary_owner(), "first");
  EXPECT_TRUE(layers[0]->dictionary().value.equal(layers[1]->dictionary().value));
  EXPECT_EQ(layers[0]->params().values, 8 * 6 + 3 * 12);
  EXPECT_EQ(layers[1]->params().values, 3 * 12);
  // Each layer's reconstruction is the shared dictionary times its own slice of the coefficients.
  at::Tensor both = torch::matmul(fit.dictionary, dense_code(fit.code, 6));
  at::Tensor dewhitened = at::linalg_solve_triangular(whitened.lower.t(), both, true);
  EXPECT_TRUE(torch::allclose(layers[1]->dense().t().to(torch::kFloat64), dewhitened.narrow(1, 12, 12), 1e-4, 1e-5));
}

TEST(DictSizeTest, MatchesThePapersWorkedExamples) {
  DictCost effective{Accounting::kEffective}, full{Accounting::kFull};
  // CoSpaDi eq. 11 for Llama-3-8B at γ = 0.2 (ALGORITHMS.md §2 table).
  EXPECT_EQ(dict_size_for_ratio(4096, 4096, 1, 0.2, 2.0, effective, 0, "q").atoms, 2184);
  EXPECT_EQ(dict_size_for_ratio(4096, 4096, 1, 0.2, 2.0, effective, 0, "q").nonzeros, 1092);
  EXPECT_EQ(dict_size_for_ratio(4096, 1024, 1, 0.2, 2.0, effective, 0, "k").atoms, 728);
  EXPECT_EQ(dict_size_for_ratio(4096, 14336, 1, 0.2, 2.0, effective, 0, "up").atoms, 4170);
  EXPECT_EQ(dict_size_for_ratio(14336, 4096, 1, 0.2, 2.0, effective, 0, "down").atoms, 2867);
  EXPECT_EQ(dict_size_for_ratio(14336, 4096, 1, 0.2, 2.0, effective, 0, "down").nonzeros, 1433);
  // The 4096 x 12288 example: 3932 atoms without the mask, 3657 with it (eq. 10).
  EXPECT_EQ(dict_size_for_ratio(4096, 12288, 1, 0.2, 2.0, effective, 0, "x").atoms, 3932);
  EXPECT_EQ(dict_size_for_ratio(4096, 12288, 1, 0.2, 2.0, full, 0, "x").atoms, 3657);
  // COMPOT caps k at in and gives the rest of the budget to s.
  // At ratio 0.02 the formula gives k = 67 > 64: capped, 4096 + 172 s + 688 (mask) <= 10787.8 words gives s = 34.
  DictSize capped = dict_size_for_ratio(64, 172, 1, 0.02, 2.0, full, 64, "up");
  EXPECT_EQ(capped.atoms, 64);
  EXPECT_EQ(capped.nonzeros, 34);
  EXPECT_EQ(dict_size_for_ratio(64, 172, 1, 0.02, 2.0, full, 0, "up").atoms, 67);
  // Quantized values are cheaper, so more atoms fit.
  DictCost int8{Accounting::kFull, 8, 128};
  EXPECT_GT(dict_size_for_ratio(4096, 4096, 1, 0.5, 2.0, int8, 0, "q").atoms,
            dict_size_for_ratio(4096, 4096, 1, 0.5, 2.0, full, 0, "q").atoms * 3 / 2);
}

TEST(DictSizeTest, RejectsImpossibleRatiosAndRhoBelowOne) {
  DictCost full;
  EXPECT_THROW(dict_size_for_ratio(64, 64, 1, 0.0, 2.0, full, 0, "q"), Error);
  EXPECT_THROW(dict_size_for_ratio(64, 64, 1, 1.0, 2.0, full, 0, "q"), Error);
  EXPECT_THROW(dict_size_for_ratio(64, 64, 1, 0.3, 0.5, full, 0, "q"), Error);
  EXPECT_THROW(dict_size_for_ratio(8, 8, 1, 0.99, 2.0, full, 0, "q"), Error);  // s = 0
  EXPECT_THROW(parse_accounting("bits"), Error);
}

}  // namespace
