// The low-rank baselines against closed forms: full rank reproduces the layer, SVD-LLM's whitened
// truncation error equals the discarded squared singular values, SVD-LLM's output error never
// exceeds plain SVD's, a singular Gram matrix takes the shift path, and the parameter formula.
#include <gtest/gtest.h>

#include "lmshrink/compress/asvd.h"
#include "lmshrink/compress/rank.h"
#include "lmshrink/compress/svd.h"
#include "lmshrink/compress/svd_llm.h"
#include "lmshrink/util/error.h"

namespace {

using lmshrink::DenseLinear;

torch::Generator seeded(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

// Calibration-like inputs: correlated channels with very different scales, [tokens, in].
at::Tensor correlated_inputs(int64_t tokens, int64_t in, uint64_t seed) {
  auto g = seeded(seed);
  at::Tensor mixing = at::normal(0.0, 1.0, {in, in}, g, torch::kFloat64);
  at::Tensor scales = torch::logspace(-2, 1, in, 10.0, torch::kFloat64);
  return torch::matmul(at::normal(0.0, 1.0, {tokens, in}, g, torch::kFloat64), mixing) * scales;
}

DenseLinear random_layer(int64_t out, int64_t in, uint64_t seed) {
  auto g = seeded(seed);
  return DenseLinear(at::normal(0.0, 0.1, {out, in}, g, torch::kFloat32), at::normal(0.0, 0.1, {out}, g, torch::kFloat32));
}

double relative(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).norm().item<double>() / b.to(torch::kFloat64).norm().item<double>();
}

// ‖X (W − Ŵ)‖_F² with W = weightᵀ.
double output_error(const at::Tensor& x, const lmshrink::Linear& original, const lmshrink::Linear& compressed) {
  at::Tensor diff = (original.dense() - compressed.dense()).t().to(torch::kFloat64);
  return torch::matmul(x, diff).pow(2).sum().item<double>();
}

TEST(LowRankMethodsTest, FullRankReproducesEachLayer) {
  DenseLinear layer = random_layer(24, 16, 1);
  at::Tensor x = correlated_inputs(200, 16, 2);
  at::Tensor gram = torch::matmul(x.t(), x);
  at::Tensor abs_mean = x.abs().mean(0);
  EXPECT_LE(relative(lmshrink::compress_svd(layer, 16)->dense(), layer.dense()), 1e-5);
  EXPECT_LE(relative(lmshrink::compress_svd_llm(layer, gram, 16).layer->dense(), layer.dense()), 1e-5);
  EXPECT_LE(relative(lmshrink::compress_asvd(layer, abs_mean, 16)->dense(), layer.dense()), 1e-5);
  at::Tensor input = at::normal(0.0, 1.0, {3, 5, 16}, seeded(9), torch::kFloat32);
  EXPECT_LE(relative(lmshrink::compress_svd(layer, 16)->forward(input), layer.forward(input)), 1e-5);  // bias kept
}

TEST(LowRankMethodsTest, SvdLlmTruncationErrorIsTheDiscardedSpectrum) {
  DenseLinear layer = random_layer(40, 32, 3);
  at::Tensor x = correlated_inputs(500, 32, 4);
  at::Tensor gram = torch::matmul(x.t(), x);
  // Reference spectrum, computed independently: singular values of X W (same as of Sᵀ W).
  at::Tensor sigma = at::linalg_svdvals(torch::matmul(x, layer.dense().t().to(torch::kFloat64)));
  for (int64_t rank : {1, 5, 12, 20}) {
    auto result = lmshrink::compress_svd_llm(layer, gram, rank);
    double discarded = sigma.narrow(0, rank, sigma.size(0) - rank).pow(2).sum().item<double>();
    // Factors are stored in float32, so compare with the float64-exact loss at float32 precision.
    EXPECT_NEAR(result.truncation_loss, discarded, 1e-9 * discarded + 1e-12) << "rank " << rank;
    EXPECT_NEAR(output_error(x, layer, *result.layer), discarded, 1e-5 * discarded) << "rank " << rank;
  }
}

TEST(LowRankMethodsTest, SvdLlmOutputErrorNeverExceedsPlainSvd) {
  DenseLinear layer = random_layer(48, 32, 5);
  at::Tensor x = correlated_inputs(400, 32, 6);
  at::Tensor gram = torch::matmul(x.t(), x);
  for (double ratio : {0.1, 0.2, 0.3, 0.4, 0.5}) {
    int64_t rank = lmshrink::low_rank_for_ratio(32, 48, ratio, "test");
    double svd_llm = output_error(x, layer, *lmshrink::compress_svd_llm(layer, gram, rank).layer);
    double svd = output_error(x, layer, *lmshrink::compress_svd(layer, rank));
    EXPECT_LE(svd_llm, svd * (1 + 1e-6)) << "ratio " << ratio;
  }
}

TEST(LowRankMethodsTest, SingularGramTakesTheShiftPathAndStaysFinite) {
  DenseLinear layer = random_layer(20, 16, 7);
  at::Tensor x = correlated_inputs(8, 16, 8);  // 8 tokens: rank-8 Gram of a 16-input layer
  at::Tensor gram = torch::matmul(x.t(), x);
  gram.select(0, 3).zero_();
  gram.select(1, 3).zero_();  // an input that never fires
  auto result = lmshrink::compress_svd_llm(layer, gram, 6);
  EXPECT_GT(result.gram_shift, 0.0);
  EXPECT_TRUE(torch::isfinite(result.layer->a()).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(result.layer->b()).all().item<bool>());
}

TEST(LowRankMethodsTest, RankAndParameterCountsFollowTheFormula) {
  // r = floor((1 − γ) d_in d_out / (d_in + d_out)); Llama-3.2-1B shapes, γ = 0.3.
  EXPECT_EQ(lmshrink::low_rank_for_ratio(2048, 2048, 0.3, "q"), 716);   // 0.7 * 2048² / 4096 = 716.8
  EXPECT_EQ(lmshrink::low_rank_for_ratio(2048, 8192, 0.3, "up"), 1146);  // 0.7 * 2048 * 8192 / 10240 = 1146.88
  EXPECT_EQ(lmshrink::low_rank_for_ratio(64, 32, 0.5, "k"), 10);         // 0.5 * 2048 / 96 = 10.67
  EXPECT_EQ(lmshrink::low_rank_params(2048, 8192, 1146), 1146 * 10240);
  DenseLinear layer = random_layer(32, 64, 9);
  auto compressed = lmshrink::compress_svd(layer, 10);
  EXPECT_EQ(compressed->params().values, 10 * (64 + 32) + 32);  // factors + the dense bias
}

TEST(LowRankMethodsTest, ImpossibleRatiosAreErrors) {
  EXPECT_THROW(lmshrink::low_rank_for_ratio(64, 64, 0.0, "q"), lmshrink::Error);
  EXPECT_THROW(lmshrink::low_rank_for_ratio(64, 64, 1.0, "q"), lmshrink::Error);
  EXPECT_THROW(lmshrink::low_rank_for_ratio(4, 4, 0.9, "q"), lmshrink::Error);  // rank rounds to 0
}

}  // namespace
