// From-scratch training (train/train_model.h, train/trainer.h): the collapsed MASA coefficient matrix gives the outputs of
// the MLP that produced it, a trained model saves and reloads to the same perplexity, a seed gives the same run on CPU,
// a resumed run equals an uninterrupted one, parameter counts per attention variant follow their closed forms, and bad
// configs / corpora are lmshrink::Error (the CLI's exit code 2).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "cli/cli_helpers.h"
#include "lmshrink/compress/heal.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/train/trainer.h"
#include "lmshrink/util/error.h"

namespace {

lmshrink::TrainConfig tiny_config(const std::string& attention) {
  lmshrink::TrainConfig c;
  c.attention = attention;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_layers = 3;
  c.num_heads = 2;
  c.gqa_kv_heads = 1;
  c.lowrank_rank = 4;
  c.masa_atoms = 2;
  c.coef_embedding = 4;
  c.coef_hidden = 8;
  c.seq_len = 16;
  c.batch_size = 4;
  c.steps = 6;
  c.lr = 1e-2;
  c.eval_every = 3;
  c.eval_windows = 4;
  return c;
}

at::Tensor random_windows(int64_t n, int64_t seq, uint64_t seed) {
  return torch::randint(0, 32, {n, seq}, at::detail::createCPUGenerator(seed), torch::kInt64);
}

TEST(MasaTrainTest, CollapsedCoefficientsGiveTheOutputsOfTheirMlp) {
  lmshrink::TrainConfig c = tiny_config("masa-qkvo");
  lmshrink::TrainableModel t = lmshrink::build_trainable_model(c, 32);
  lmshrink::train_model(t, c, random_windows(16, 16, 1), random_windows(4, 16, 2), "", false);
  at::Tensor tokens = random_windows(2, 16, 3);
  at::Tensor through_mlp;
  {
    torch::NoGradGuard no_grad;
    t.refresh_coefficients();  // run-time mixing with the MLP's output
    through_mlp = t.model->forward(tokens);
  }
  std::vector<at::Tensor> mlp_output;
  for (const auto& mlp : t.mlps) mlp_output.push_back(mlp.forward().detach().to(torch::kFloat64));
  t.collapse();
  ASSERT_EQ(t.banks.size(), 4u);
  for (size_t i = 0; i < t.banks.size(); ++i) {
    EXPECT_FALSE(t.banks[i]->coefficients.requires_grad());
    EXPECT_EQ(t.banks[i]->coefficients.sizes(), (std::vector<int64_t>{3, 2}));
    EXPECT_TRUE(torch::allclose(t.banks[i]->coefficients.to(torch::kFloat64), mlp_output[i], 0, 0));
  }
  EXPECT_EQ(t.model->blocks()[1].o_proj->format(), "sharedatoms");
  EXPECT_TRUE(torch::allclose(t.model->forward(tokens), through_mlp, 1e-5, 1e-5));
}

TEST(MasaTrainTest, SavedModelReloadsToTheSamePerplexity) {
  for (const std::string variant : {"masa-qkv", "lowrank", "gqa"}) {
    lmshrink::TrainConfig c = tiny_config(variant);
    lmshrink::TrainableModel t = lmshrink::build_trainable_model(c, 32);
    at::Tensor valid = random_windows(4, 16, 2);
    lmshrink::TrainResult r = lmshrink::train_model(t, c, random_windows(16, 16, 1), valid, "", false);
    t.collapse();
    double in_memory = lmshrink::mean_next_token_loss(*t.model, valid, 4);
    EXPECT_NEAR(std::exp(in_memory), r.valid_ppl.back().second, 1e-4 * r.valid_ppl.back().second) << variant;
    auto dir = lmshrink::testing::temp_dir("train_roundtrip_" + variant);
    lmshrink::write_hf_model(*t.model, dir.string(), {{"method", "train"}});
    auto loaded = lmshrink::load_hf_model(dir.string());
    // Bitwise: the loaded layers hold the same bytes, shapes and strides (row_major, linear.h), so the same kernels.
    EXPECT_EQ(lmshrink::mean_next_token_loss(*loaded, valid, 4), in_memory) << variant;
    EXPECT_EQ(lmshrink::attention_params(*loaded), lmshrink::attention_params(*t.model)) << variant;
  }
}

TEST(MasaTrainTest, TrainingIsDeterministicForASeed) {
  auto run = [](uint64_t seed) {
    lmshrink::TrainConfig c = tiny_config("masa-qkvo");
    c.seed = seed;
    lmshrink::TrainableModel t = lmshrink::build_trainable_model(c, 32);
    lmshrink::TrainResult r = lmshrink::train_model(t, c, random_windows(10, 16, 1), random_windows(4, 16, 2), "", false);
    return std::make_pair(r.losses, t.parameters);
  };
  auto [losses_a, params_a] = run(5);
  auto [losses_b, params_b] = run(5);
  auto [losses_c, params_c] = run(6);
  EXPECT_EQ(losses_a, losses_b);  // bitwise: the same run twice, same kernels, inputs and order
  EXPECT_NE(losses_a, losses_c);
  for (size_t i = 0; i < params_a.size(); ++i) EXPECT_TRUE(torch::equal(params_a[i].second, params_b[i].second)) << params_a[i].first;
}

TEST(MasaTrainTest, ResumedRunEqualsAnUninterruptedOne) {
  lmshrink::TrainConfig c = tiny_config("masa-qkv");
  c.checkpoint_every = 3;
  at::Tensor train = random_windows(10, 16, 1), valid = random_windows(4, 16, 2);
  lmshrink::TrainableModel straight = lmshrink::build_trainable_model(c, 32);
  lmshrink::train_model(straight, c, train, valid, "", false);
  auto checkpoint = (lmshrink::testing::temp_dir("train_resume") / "run.ckpt").string();
  lmshrink::TrainableModel crashed = lmshrink::build_trainable_model(c, 32);
  EXPECT_THROW(lmshrink::train_model(crashed, c, train, valid, checkpoint, false,
                                     [](const lmshrink::TrainStep& s) {
                                       if (s.step == 4) throw std::runtime_error("simulated crash");
                                     }),
               std::runtime_error);
  c.seed = 99;  // a fresh initialisation: everything must come from the checkpoint (the data order seed aside)
  lmshrink::TrainableModel resumed = lmshrink::build_trainable_model(c, 32);
  c.seed = 0;
  lmshrink::TrainResult r = lmshrink::train_model(resumed, c, train, valid, checkpoint, true);
  EXPECT_EQ(r.first_step, 3);
  EXPECT_EQ(r.steps, 3);
  for (size_t i = 0; i < straight.parameters.size(); ++i) {
    EXPECT_TRUE(torch::allclose(straight.parameters[i].second, resumed.parameters[i].second, 1e-6, 1e-7))
        << straight.parameters[i].first;
  }
}

TEST(MasaTrainTest, AttentionParametersFollowTheVariant) {
  const int64_t h = 16, L = 3, S = 2;
  auto params = [](const std::string& v) {
    return lmshrink::attention_params(*lmshrink::build_trainable_model(tiny_config(v), 32).model);
  };
  EXPECT_EQ(params("dense"), L * 4 * h * h);
  EXPECT_EQ(params("gqa"), L * (2 * h * h + 2 * h * 8));  // 1 KV head of dim 8
  EXPECT_EQ(params("lowrank"), L * 4 * 4 * (h + h));
  EXPECT_EQ(params("masa-qkvo"), 4 * (S * h * h + L * S));  // atoms once per projection type
  EXPECT_EQ(params("masa-qkv"), 3 * (S * h * h + L * S) + L * h * h);
  lmshrink::TrainConfig c = tiny_config("masa-qkvo");
  c.num_layers = 6;
  c.masa_atoms = 0;
  EXPECT_EQ(lmshrink::train_masa_atoms(c), 2);  // L / 3
}

TEST(MasaTrainTest, BadConfigsAndCorporaAreErrors) {
  EXPECT_THROW(lmshrink::parse_train_config({{"attention", "sparse"}}, "c.json"), lmshrink::Error);
  EXPECT_THROW(lmshrink::parse_train_config({{"attention", "masa-qkv"}, {"num_layers", 3}, {"masa_atoms", 4}}, "c.json"),
               lmshrink::Error);  // S > L
  EXPECT_THROW(lmshrink::parse_train_config({{"hidden_sise", 3}}, "c.json"), lmshrink::Error);
  lmshrink::TrainConfig c = tiny_config("dense");
  lmshrink::TrainableModel t = lmshrink::build_trainable_model(c, 32);
  EXPECT_THROW(lmshrink::train_model(t, c, random_windows(3, 16, 1), random_windows(4, 16, 2), "", false), lmshrink::Error);
}

TEST(MasaTrainTest, CliTrainsSavesAndEvaluates) {
  using lmshrink::testing::quote;
  auto dir = lmshrink::testing::temp_dir("train_cli");
  std::string config = lmshrink::testing::write_file(
      "train_cli", "tiny.json",
      R"({"attention": "masa-qkvo", "hidden_size": 16, "intermediate_size": 24, "num_layers": 3, "num_heads": 2,
          "seq_len": 32, "batch_size": 4, "steps": 4, "eval_every": 2, "eval_windows": 4})");
  std::string eval = lmshrink::testing::shared_path("models/stories260K/eval_tinystories_valid_6stories.txt");
  std::string corpus = lmshrink::testing::shared_path("models/stories260K/eval_tinystories_valid_6stories.txt");
  auto out = dir / "model";
  std::string tok = " --tokenizer " + quote(lmshrink::testing::stories_tok());
  auto r = lmshrink::testing::run_lmshrink("train --config " + quote(config) + " --corpus " + quote(corpus) + tok + " -o " +
                                               quote(out.string()),
                                           "train_cli_ok");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  auto record = lmshrink::testing::read_json(out / "lmshrink_run.json");
  EXPECT_EQ(record["steps"], 4);
  EXPECT_EQ(record["masa_atoms"], 1);
  EXPECT_EQ(record["valid_ppl"].size(), 2u);
  auto e = lmshrink::testing::run_lmshrink("eval " + quote(out.string()) + " --ppl " + quote(eval) + " --seq-len 32", "train_cli_e");
  ASSERT_EQ(e.exit_code, 0) << e.stderr_text;
  EXPECT_GT(lmshrink::testing::ppl_of(e), 1.0);

  std::string small = lmshrink::testing::write_file("train_cli_small", "small.txt", "Once upon a time there was a cat.");
  lmshrink::testing::expect_bad_input(
      lmshrink::testing::run_lmshrink("train --config " + quote(config) + " --corpus " + quote(small) + " --valid " +
                                          quote(eval) + tok + " -o " + quote((dir / "small").string()),
                                      "train_cli_small"),
      "fewer than one");
  std::string bad = lmshrink::testing::write_file("train_cli_bad", "bad.json", R"({"attention": "masa-qkv", "num_layers": 2, "masa_atoms": 3})");
  lmshrink::testing::expect_bad_input(
      lmshrink::testing::run_lmshrink("train --config " + quote(bad) + " --corpus " + quote(corpus) + tok + " -o " +
                                          quote((dir / "bad").string()),
                                      "train_cli_bad"),
      "exceeds num_layers");
}

}  // namespace
