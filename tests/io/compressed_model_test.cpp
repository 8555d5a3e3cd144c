// A compressed model on disk: saving then loading gives bit-identical logits (factors stored in
// float32 as they are held), the config.json "compression" section names each compressed layer
// with its shapes, plain layers stay plain HF tensors, and densified layers reproduce A B.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lmshrink/compress/pipeline.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/io/safetensors.h"
#include "lmshrink/model/linear_format.h"
#include "lmshrink/model/low_rank.h"
#include "lmshrink/util/progress.h"
#include "test_support.h"

namespace {

TEST(CompressedModelTest, SaveThenLoadGivesIdenticalLogits) {
  lmshrink::set_progress_quiet(true);
  auto model = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  lmshrink::CompressOptions options{lmshrink::Method::kSvd, 0.3, lmshrink::parse_targets("attn,down"), lmshrink::Mode::kOneShot, 4};
  lmshrink::compress_model(*model, at::Tensor(), options);
  auto dir = lmshrink::testing::temp_dir("compressed_roundtrip");
  lmshrink::write_hf_model(*model, dir.string(), {{"method", "svd"}});
  auto loaded = lmshrink::load_hf_model(dir.string());
  torch::NoGradGuard no_grad;
  at::Tensor tokens = torch::arange(1, 65, torch::kInt64).reshape({2, 32});
  // Bitwise: same bytes, shapes and strides after loading (row_major, linear.h), so the same kernels in the same order.
  EXPECT_TRUE(torch::equal(model->forward(tokens), loaded->forward(tokens)));
  EXPECT_EQ(loaded->blocks()[3].q_proj->format(), "lowrank");
  EXPECT_EQ(loaded->blocks()[3].up_proj->format(), "dense");

  nlohmann::json config = nlohmann::json::parse(std::ifstream(dir / "config.json"));
  const auto& section = config["compression"];
  EXPECT_EQ(section["method"], "svd");
  EXPECT_EQ(section["format_version"], lmshrink::kCompressionFormatVersion);
  EXPECT_EQ(section["layers"].size(), 5u * 5u);  // q, k, v, o, down of 5 blocks
  const auto& down = section["layers"]["model.layers.0.mlp.down_proj"];
  EXPECT_EQ(down["in_features"], 172);
  EXPECT_EQ(down["out_features"], 64);
  EXPECT_EQ(down["rank"], 32);  // floor(0.7 * 172 * 64 / 236) = floor(32.65)
  lmshrink::SafetensorsFile file((dir / "model.safetensors").string());
  EXPECT_TRUE(file.contains("model.layers.0.mlp.down_proj.a"));
  EXPECT_TRUE(file.contains("model.layers.0.mlp.up_proj.weight"));
  EXPECT_FALSE(file.contains("model.layers.0.mlp.down_proj.weight"));
}

TEST(CompressedModelTest, DensifiedLayerIsTheProductOfItsFactors) {
  at::Tensor a = torch::randn({6, 2}, torch::kFloat32), b = torch::randn({2, 5}, torch::kFloat32);
  at::Tensor bias = torch::randn({5}, torch::kFloat32);
  lmshrink::LowRankLinear low_rank(a, b, bias);
  auto dense = lmshrink::densified(low_rank);
  at::Tensor x = torch::randn({3, 6}, torch::kFloat32);
  at::Tensor expected = (x.to(torch::kFloat64).matmul(a.to(torch::kFloat64)).matmul(b.to(torch::kFloat64)) +
                         bias.to(torch::kFloat64));
  EXPECT_TRUE(torch::allclose(dense->forward(x).to(torch::kFloat64), expected, 1e-5, 1e-5));
  EXPECT_TRUE(torch::equal(dense->bias(), bias));
  EXPECT_EQ(dense->format(), "dense");
}

}  // namespace
