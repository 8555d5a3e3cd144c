// MASA post-hoc (compress/masa.h): Matrix PCA against float64 loop references (S = L is exact, the error is the sum of
// the discarded eigenvalues of the Gram, the atoms are Frobenius-orthonormal), the attention budget, grouping by the
// largest logit-lens drifts, and bad input (S > L, S = 0, unequal shapes).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>

#include "lmshrink/calib/streaming.h"
#include "lmshrink/compress/masa.h"
#include "lmshrink/compress/pipeline.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/model/shared_atoms.h"
#include "lmshrink/model/synthetic.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"
#include "test_support.h"

namespace {

using lmshrink::MatrixPca;

std::vector<at::Tensor> random_weights(int64_t layers, int64_t out, int64_t in, uint64_t seed) {
  torch::Generator g = at::detail::createCPUGenerator(seed);
  std::vector<at::Tensor> w;
  for (int64_t l = 0; l < layers; ++l) w.push_back(at::normal(0.0, 1.0, {out, in}, g, torch::kFloat64));
  return w;
}

// Σ_s c_ls D_s by explicit loops, float64.
double loop_error(const std::vector<at::Tensor>& weights, const MatrixPca& pca) {
  auto atoms = pca.atoms.accessor<double, 3>();
  auto c = pca.coefficients.accessor<double, 2>();
  double error = 0.0;
  for (size_t l = 0; l < weights.size(); ++l) {
    auto w = weights[l].accessor<double, 2>();
    for (int64_t i = 0; i < weights[l].size(0); ++i) {
      for (int64_t j = 0; j < weights[l].size(1); ++j) {
        double approx = 0.0;
        for (int64_t s = 0; s < pca.atoms.size(0); ++s) approx += c[l][s] * atoms[s][i][j];
        error += (w[i][j] - approx) * (w[i][j] - approx);
      }
    }
  }
  return error;
}

// K_ij = <W_i, W_j>_F by loops.
at::Tensor loop_gram(const std::vector<at::Tensor>& weights) {
  int64_t n = static_cast<int64_t>(weights.size());
  at::Tensor k = torch::zeros({n, n}, torch::kFloat64);
  for (int64_t a = 0; a < n; ++a) {
    for (int64_t b = 0; b < n; ++b) {
      auto wa = weights[a].accessor<double, 2>();
      auto wb = weights[b].accessor<double, 2>();
      double sum = 0.0;
      for (int64_t i = 0; i < weights[a].size(0); ++i) {
        for (int64_t j = 0; j < weights[a].size(1); ++j) sum += wa[i][j] * wb[i][j];
      }
      k[a][b] = sum;
    }
  }
  return k;
}

TEST(MasaTest, FullBankReproducesEveryWeightExactly) {
  std::vector<at::Tensor> w = random_weights(5, 7, 6, 1);
  MatrixPca pca = lmshrink::matrix_pca(w, 5);
  EXPECT_LT(loop_error(w, pca), 1e-20 * 5 * 42 + 1e-18);
  EXPECT_NEAR(pca.discarded, 0.0, 1e-12);
}

TEST(MasaTest, PcaErrorEqualsTheDiscardedEigenvaluesOfTheGram) {
  std::vector<at::Tensor> w = random_weights(6, 5, 8, 2);
  at::Tensor eigen = at::linalg_eigvalsh(loop_gram(w));  // ascending
  for (int64_t s = 1; s <= 6; ++s) {
    MatrixPca pca = lmshrink::matrix_pca(w, s);
    double discarded = eigen.narrow(0, 0, 6 - s).sum().item<double>();
    double error = loop_error(w, pca);
    EXPECT_NEAR(error, discarded, 1e-9 * eigen.sum().item<double>()) << "S = " << s;
    EXPECT_NEAR(pca.discarded, discarded, 1e-9 * eigen.sum().item<double>()) << "S = " << s;
  }
}

TEST(MasaTest, AtomsAreOrthonormalInTheFrobeniusInnerProduct) {
  std::vector<at::Tensor> w = random_weights(5, 6, 4, 3);
  MatrixPca pca = lmshrink::matrix_pca(w, 3);
  auto d = pca.atoms.accessor<double, 3>();
  for (int64_t a = 0; a < 3; ++a) {
    for (int64_t b = 0; b < 3; ++b) {
      double dot = 0.0;
      for (int64_t i = 0; i < 6; ++i) {
        for (int64_t j = 0; j < 4; ++j) dot += d[a][i][j] * d[b][i][j];
      }
      EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-10) << a << "," << b;
    }
  }
  // c_ls = <D_s, W_l>
  for (int64_t l = 0; l < 5; ++l) {
    for (int64_t s = 0; s < 3; ++s) {
      EXPECT_NEAR(pca.coefficients[l][s].item<double>(), (pca.atoms[s] * w[l]).sum().item<double>(), 1e-10);
    }
  }
}

TEST(MasaTest, BadAtomCountsAreErrors) {
  std::vector<at::Tensor> w = random_weights(4, 3, 3, 4);
  EXPECT_THROW(lmshrink::matrix_pca(w, 5), lmshrink::Error);  // S > L
  EXPECT_THROW(lmshrink::matrix_pca(w, 0), lmshrink::Error);  // S = 0
  std::vector<at::Tensor> mixed = w;
  mixed[2] = torch::zeros({3, 4}, torch::kFloat64);
  EXPECT_THROW(lmshrink::matrix_pca(mixed, 2), lmshrink::Error);
}

lmshrink::CompressOptions masa_options(double ratio) {
  lmshrink::CompressOptions options;
  options.method = lmshrink::Method::kMasa;
  options.ratio = ratio;
  options.targets = lmshrink::parse_targets("attn");
  options.batch_size = 4;
  return options;
}

TEST(MasaTest, FullBankOnStoriesReproducesTheModel) {
  lmshrink::set_progress_quiet(true);
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  auto original = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  lmshrink::CompressOptions options = masa_options(0.0);
  options.masa.atoms = 5;  // S = L
  lmshrink::compress_model(*model, at::Tensor(), options);
  for (int64_t l = 0; l < 5; ++l) {
    for (const std::string& p : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
      const lmshrink::Linear& layer = lmshrink::projection_layer(*model, l, p);
      EXPECT_EQ(layer.format(), "sharedatoms");
      at::Tensor w = lmshrink::projection_layer(*original, l, p).dense();
      EXPECT_LT((layer.dense() - w).abs().max().item<double>(), 1e-5 * w.abs().max().item<double>()) << l << p;
    }
  }
  at::Tensor tokens = torch::arange(1, 65, torch::kInt64).reshape({2, 32});
  EXPECT_TRUE(torch::allclose(model->forward(tokens), original->forward(tokens), 1e-4, 1e-4));
}

TEST(MasaTest, RatioBudgetCountsAtomsOncePerGroup) {
  lmshrink::set_progress_quiet(true);
  for (double ratio : {0.2, 0.3, 0.5}) {
    auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
    lmshrink::CompressResult result = lmshrink::compress_model(*model, at::Tensor(), masa_options(ratio));
    int64_t before = 0, after = 0;
    for (const lmshrink::CompressedLayer& l : result.layers) {
      before += l.params_before;
      after += l.params_after;
    }
    EXPECT_EQ(before, 5 * (64 * 64 * 2 + 32 * 64 * 2));
    EXPECT_LE(after, (1.0 - ratio) * static_cast<double>(before)) << ratio;
    for (const lmshrink::MasaGroupRecord& g : result.masa_groups) {
      int64_t d = g.projection == "k_proj" || g.projection == "v_proj" ? 32 * 64 : 64 * 64;
      EXPECT_EQ(g.atoms, static_cast<int64_t>(std::floor((1 - ratio) * 5 * d / (d + 5.0))));
      int64_t group_params = 0;
      for (int64_t l = 0; l < 5; ++l) group_params += lmshrink::projection_layer(*model, l, g.projection).params().values;
      EXPECT_EQ(group_params, g.atoms * d + 5 * g.atoms) << g.projection;  // atoms once, S coefficients per layer
    }
  }
}

TEST(MasaTest, WhitenedResidualLowersTheCalibrationError) {
  lmshrink::set_progress_quiet(true);
  at::Tensor tokens = torch::randint(1, 512, {8, 64}, at::detail::createCPUGenerator(5), torch::kInt64);
  auto plain = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  auto corrected = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  lmshrink::CompressOptions options = masa_options(0.3);
  auto stats = lmshrink::collect_all_one_shot(*plain, tokens, 4);
  lmshrink::CompressResult a = lmshrink::compress_model(*plain, tokens, options, &stats);
  options.masa.residual_rank = lmshrink::MasaOptions::kAuto;
  lmshrink::CompressResult b = lmshrink::compress_model(*corrected, tokens, options, &stats);
  int64_t after = 0, before = 0;
  for (const auto& l : b.layers) {
    EXPECT_GT(l.rank, 0) << l.name;
    after += l.params_after;
    before += l.params_before;
  }
  EXPECT_LE(after, 0.7 * before);
  // Per layer: the residual is the best rank-r fit of the whitened ΔW, so it can only lower ‖X(W − Ŵ)‖.
  std::map<std::string, double> plain_error;
  for (const auto& l : a.layers) plain_error[l.name] = l.whitened_error;
  for (const auto& l : b.layers) EXPECT_LE(l.whitened_error, plain_error.at(l.name) + 1e-6) << l.name;
  // "auto" gives q/o at least the k/v rank under GQA (stories260K: 8 heads, 4 KV heads).
  int64_t q_rank = 0, k_rank = 0;
  for (const auto& g : b.masa_groups) {
    if (g.projection == "q_proj") q_rank = g.residual_rank;
    if (g.projection == "k_proj") k_rank = g.residual_rank;
  }
  EXPECT_GE(q_rank, k_rank);
}

TEST(MasaTest, ResidualRankFollowsTheGqaRule) {
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  using lmshrink::parse_masa_spec;
  EXPECT_EQ(lmshrink::masa_residual_rank(*model, "q_proj", parse_masa_spec("4", "r")), 4);
  EXPECT_EQ(lmshrink::masa_residual_rank(*model, "o_proj", 4), 4);
  EXPECT_EQ(lmshrink::masa_residual_rank(*model, "k_proj", 4), 2);  // kv_dim 32 of q_dim 64
  EXPECT_EQ(lmshrink::masa_residual_rank(*model, "v_proj", 3), 2);  // ceil(1.5)
  EXPECT_EQ(lmshrink::masa_residual_rank(*model, "v_proj", parse_masa_spec("auto", "r")), -1);
  EXPECT_THROW(parse_masa_spec("x", "masa.residual_rank"), lmshrink::Error);
  EXPECT_THROW(lmshrink::masa_residual_rank(*model, "q_proj", -2), lmshrink::Error);
}

TEST(MasaTest, GroupsCutAtTheLargestLogitLensDrifts) {
  using Groups = std::vector<std::pair<int64_t, int64_t>>;
  std::vector<double> drift{0.1, 5.0, 0.2, 0.3, 4.0};  // 6 layers
  EXPECT_EQ(lmshrink::masa_groups(drift, 6, 1), (Groups{{0, 6}}));
  EXPECT_EQ(lmshrink::masa_groups(drift, 6, 2), (Groups{{0, 2}, {2, 6}}));
  // The cut after layer 4 would leave a one-layer group; the next largest drift (after layer 3) is taken instead.
  EXPECT_EQ(lmshrink::masa_groups(drift, 6, 3), (Groups{{0, 2}, {2, 4}, {4, 6}}));
  EXPECT_EQ(lmshrink::masa_groups(drift, 6, lmshrink::MasaOptions::kAuto), (Groups{{0, 2}, {2, 6}}));  // median 0.3: only 5.0 > 0.6 fits
  EXPECT_THROW(lmshrink::masa_groups(drift, 6, 4), lmshrink::Error);
  EXPECT_THROW(lmshrink::masa_groups(drift, 6, 0), lmshrink::Error);
  EXPECT_THROW(lmshrink::parse_masa_spec("two", "masa.groups"), lmshrink::Error);
}

TEST(MasaTest, LogitLensDriftIsTheKlOfConsecutiveProbes) {
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  torch::Generator g = at::detail::createCPUGenerator(7);
  at::Tensor a = at::normal(0.0, 1.0, {64}, g, torch::kFloat64), b = at::normal(0.0, 1.0, {64}, g, torch::kFloat64);
  std::vector<double> drift = lmshrink::logit_lens_drift(*model, {a, a, b});
  ASSERT_EQ(drift.size(), 2u);
  EXPECT_NEAR(drift[0], 0.0, 1e-12);
  // Independent reference: probabilities in float64 from the dense head weight and the norm by loops.
  auto probe = [&](const at::Tensor& h) {
    double ms = 0.0;
    for (int64_t i = 0; i < 64; ++i) ms += h[i].item<double>() * h[i].item<double>() / 64.0;
    at::Tensor normed = (h.to(torch::kFloat32) * static_cast<float>(1.0 / std::sqrt(ms + model->config().rms_norm_eps)))
                            .to(torch::kFloat64) * model->final_norm().to(torch::kFloat64);
    at::Tensor logits = torch::matmul(model->lm_head().dense().to(torch::kFloat64), normed);
    return torch::softmax(logits, 0);
  };
  at::Tensor p = probe(a), q = probe(b);
  EXPECT_NEAR(drift[1], (p * (p.log() - q.log())).sum().item<double>(), 1e-4 * drift[1] + 1e-6);
}

TEST(MasaTest, UnequalProjectionShapesAreNamed) {
  lmshrink::ModelConfig config = lmshrink::llama32_1b_shapes(64, 32);
  config.hidden_size = 16;
  config.intermediate_size = 24;
  config.num_layers = 3;
  config.num_heads = 4;
  config.num_kv_heads = 2;
  config.head_dim = 4;
  auto model = lmshrink::make_synthetic_model(config, 1);
  model->mutable_blocks()[2].v_proj = std::make_unique<lmshrink::DenseLinear>(torch::zeros({4, 16}));
  try {
    lmshrink::check_compress_options(*model, masa_options(0.3));
    FAIL() << "expected an error";
  } catch (const lmshrink::Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("model.layers.2.self_attn.v_proj is [4, 16]"), std::string::npos) << message;
    EXPECT_NE(message.find("model.layers.0.self_attn.v_proj is [8, 16]"), std::string::npos) << message;
  }
  lmshrink::CompressOptions mlp = masa_options(0.3);
  mlp.targets = lmshrink::parse_targets("mlp");
  EXPECT_THROW(lmshrink::check_compress_options(*model, mlp), lmshrink::Error);
}

}  // namespace
