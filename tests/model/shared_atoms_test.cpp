// SharedAtomsLinear (model/shared_atoms.h): the synthesized and run-time mixes agree with a float64 reference
// Σ_s c_ls D_s + (A B)ᵀ, atoms are counted once per group, and a MASA model saves and reloads to bit-identical
// logits with the bank stored once, by the group's first layer.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lmshrink/compress/pipeline.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/io/safetensors.h"
#include "lmshrink/model/shared_atoms.h"
#include "lmshrink/util/error.h"
#include "lmshrink/util/progress.h"
#include "test_support.h"

namespace {

std::shared_ptr<lmshrink::AtomBank> random_bank(int64_t atoms, int64_t layers, int64_t out, int64_t in) {
  torch::Generator g = at::detail::createCPUGenerator(11);
  auto bank = std::make_shared<lmshrink::AtomBank>();
  bank->atoms = at::normal(0.0, 1.0, {atoms, out, in}, g, torch::kFloat32);
  bank->coefficients = at::normal(0.0, 1.0, {layers, atoms}, g, torch::kFloat32);
  bank->owner = "layer0";
  return bank;
}

TEST(MasaSharedAtomsTest, BothMixesMatchAFloat64Reference) {
  auto bank = random_bank(3, 4, 5, 6);
  at::Tensor a = torch::randn({6, 2}), b = torch::randn({2, 5}), bias = torch::randn({5});
  at::Tensor x = torch::randn({2, 3, 6});
  // reference: W = Σ_s c_2s D_s + (A B)ᵀ by loops in float64
  at::Tensor w = torch::zeros({5, 6}, torch::kFloat64);
  for (int64_t s = 0; s < 3; ++s) w += bank->coefficients[2][s].item<double>() * bank->atoms[s].to(torch::kFloat64);
  w += torch::matmul(a.to(torch::kFloat64), b.to(torch::kFloat64)).t();
  at::Tensor expected = torch::matmul(x.to(torch::kFloat64), w.t()) + bias.to(torch::kFloat64);
  for (auto mix : {lmshrink::AtomMix::kSynthesize, lmshrink::AtomMix::kRuntime}) {
    lmshrink::SharedAtomsLinear layer(bank, 2, mix, a, b, bias);
    EXPECT_TRUE(torch::allclose(layer.forward(x).to(torch::kFloat64), expected, 1e-4, 1e-4));
    EXPECT_TRUE(torch::allclose(layer.dense().to(torch::kFloat64), w, 1e-5, 1e-5));
  }
}

TEST(MasaSharedAtomsTest, TheGroupsFirstLayerCountsTheAtoms) {
  auto bank = random_bank(3, 4, 5, 6);
  lmshrink::SharedAtomsLinear first(bank, 0, lmshrink::AtomMix::kSynthesize);
  lmshrink::SharedAtomsLinear other(bank, 3, lmshrink::AtomMix::kSynthesize, torch::randn({6, 2}), torch::randn({2, 5}));
  EXPECT_EQ(first.params().values, 3 * 5 * 6 + 3);
  EXPECT_EQ(other.params().values, 3 + 2 * (6 + 5));
  EXPECT_EQ(first.params().bytes, 4 * (3 * 5 * 6 + 3));
  EXPECT_THROW(lmshrink::SharedAtomsLinear(bank, 4, lmshrink::AtomMix::kRuntime), lmshrink::Error);
  EXPECT_THROW(lmshrink::parse_atom_mix("lazy"), lmshrink::Error);
}

TEST(MasaSharedAtomsTest, SaveThenLoadGivesIdenticalLogits) {
  lmshrink::set_progress_quiet(true);
  at::Tensor calib = torch::randint(1, 512, {8, 64}, at::detail::createCPUGenerator(3), torch::kInt64);
  for (const std::string mix : {"synthesize", "runtime"}) {
    auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
    lmshrink::CompressOptions options;
    options.method = lmshrink::Method::kMasa;
    options.ratio = 0.3;
    options.targets = lmshrink::parse_targets("attn");
    options.batch_size = 4;
    options.masa.groups = 2;
    options.masa.residual_rank = 2;
    options.masa.mix = lmshrink::parse_atom_mix(mix);
    lmshrink::compress_model(*model, calib, options);
    auto dir = lmshrink::testing::temp_dir("masa_roundtrip_" + mix);
    lmshrink::write_hf_model(*model, dir.string(), {{"method", "masa"}});
    auto loaded = lmshrink::load_hf_model(dir.string());
    torch::NoGradGuard no_grad;
    at::Tensor tokens = torch::arange(1, 65, torch::kInt64).reshape({2, 32});
    // Bitwise: the loaded layers hold the same bytes in the same shapes and strides (row_major, linear.h) and run
    // the same BLAS calls; only their addresses differ, which no kernel here chooses by. Before row_major, a rank-1
    // residual built as a transposed view took another OpenBLAS kernel on AVX-512 cores (issue 27).
    EXPECT_TRUE(torch::equal(model->forward(tokens), loaded->forward(tokens))) << mix;
    EXPECT_EQ(loaded->blocks()[3].q_proj->format(), "sharedatoms");
    EXPECT_EQ(loaded->blocks()[3].up_proj->format(), "dense");

    nlohmann::json config = nlohmann::json::parse(std::ifstream(dir / "config.json"));
    const auto& layers = config["compression"]["layers"];
    EXPECT_EQ(layers.size(), 4u * 5u);
    lmshrink::SafetensorsFile file((dir / "model.safetensors").string());
    int64_t banks = 0;
    for (int64_t l = 0; l < 5; ++l) {
      std::string name = "model.layers." + std::to_string(l) + ".self_attn.q_proj";
      const auto& entry = layers[name];
      EXPECT_EQ(entry["mix"], mix);
      EXPECT_EQ(entry["residual_rank"], 2);
      EXPECT_TRUE(file.contains(name + ".residual_a"));
      EXPECT_FALSE(file.contains(name + ".weight"));
      bool own = entry["bank"] == "own";
      EXPECT_EQ(file.contains(name + ".atoms"), own) << name;
      EXPECT_EQ(file.contains(name + ".coefficients"), own) << name;
      banks += own;
    }
    EXPECT_EQ(banks, 2);  // two groups, each bank stored once
  }
}

}  // namespace
