// DictSparseLinear against a float64 loop: forward, dense reconstruction and parameter/byte accounting; the
// bitmask and row-index storage; a model with dict-sparse layers (float, int8, int4, shared dictionary, row
// indices) saved and loaded gives identical logits; malformed stored factors are errors.
#include "lmshrink/model/dict_sparse.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "lmshrink/compress/pipeline.h"
#include "lmshrink/io/hf_model.h"
#include "lmshrink/io/safetensors.h"
#include "lmshrink/io/llama2c.h"
#include "lmshrink/util/error.h"
#include "test_support.h"

namespace {

using namespace lmshrink;

// A random layer with s distinct atoms per column.
DictSparseLinear random_layer(int64_t in, int64_t k, int64_t s, int64_t out, uint64_t seed, bool bias = false) {
  at::Generator g = at::detail::createCPUGenerator(seed);
  at::Tensor rows = torch::rand({k, out}, g).argsort(/*dim=*/int64_t{0}).narrow(0, 0, s);
  auto [sorted_rows, values] = sorted_support(rows, torch::randn({s, out}, g), k);
  return DictSparseLinear(float_factor(torch::randn({in, k}, g)), sorted_rows, float_factor(values),
                          bias ? torch::randn({out}, g) : at::Tensor());
}

TEST(DictSparseTest, ForwardAndDenseMatchAFloat64Loop) {
  DictSparseLinear layer = random_layer(6, 9, 3, 5, 1, /*bias=*/true);
  at::Tensor x = torch::randn({2, 4, 6});
  at::Tensor d = layer.dictionary().value.to(torch::kFloat64), rows = layer.rows(), v = layer.values().value.to(torch::kFloat64);
  at::Tensor x64 = x.to(torch::kFloat64).reshape({8, 6}), expected = torch::zeros({8, 5}, torch::kFloat64);
  for (int64_t t = 0; t < 8; ++t) {
    for (int64_t j = 0; j < 5; ++j) {
      double sum = layer.bias()[j].item<double>();
      for (int64_t slot = 0; slot < 3; ++slot) {
        int64_t atom = rows[slot][j].item<int64_t>();
        double z = 0;
        for (int64_t i = 0; i < 6; ++i) z += x64[t][i].item<double>() * d[i][atom].item<double>();
        sum += z * v[slot][j].item<double>();
      }
      expected[t][j] = sum;
    }
  }
  EXPECT_TRUE(torch::allclose(layer.forward(x).reshape({8, 5}).to(torch::kFloat64), expected, 1e-5, 1e-5));
  at::Tensor dense_y = torch::matmul(x, layer.dense().t()) + layer.bias();
  EXPECT_TRUE(torch::allclose(layer.forward(x), dense_y, 1e-5, 1e-5));
  EXPECT_EQ((layer.coefficients_dense() != 0).sum(0).eq(3).all().item<bool>(), true);
}

TEST(DictSparseTest, AccountingCountsValuesAndTheSmallerIndex) {
  DictSparseLinear bitmask = random_layer(16, 20, 10, 30, 2);
  EXPECT_EQ(bitmask.index_format(), "bitmask");
  EXPECT_EQ(bitmask.params().values, 16 * 20 + 10 * 30);
  EXPECT_EQ(bitmask.params().index_bytes, 30 * 3);  // ceil(20 / 8) bytes per column
  EXPECT_EQ(bitmask.params().bytes, 4 * (16 * 20 + 10 * 30) + 90);
  DictSparseLinear rows = random_layer(4, 40, 1, 30, 3);  // 1 nonzero of 40: 2 bytes of index beat 5 of mask
  EXPECT_EQ(rows.index_format(), "rows");
  EXPECT_EQ(rows.params().index_bytes, 2 * 30);
}

TEST(DictSparseTest, BitmaskRoundTripsAndRejectsWrongCounts) {
  DictSparseLinear layer = random_layer(5, 13, 4, 7, 4);
  at::Tensor mask = support_bitmask(layer.rows(), 13);
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{7, 2}));
  EXPECT_TRUE(support_from_bitmask(mask, 13, 4, "m").equal(layer.rows()));
  int64_t first_row = layer.rows()[0][0].item<int64_t>();
  at::Tensor broken = mask.clone();
  broken[0][first_row / 8] = broken[0][first_row / 8].item<int64_t>() ^ (1 << (first_row % 8));
  EXPECT_THROW(support_from_bitmask(broken, 13, 4, "m"), Error);
  at::Tensor beyond = mask.clone();
  beyond[1][1] = beyond[1][1].item<int64_t>() | 0x80;  // row 15 >= k
  EXPECT_THROW(support_from_bitmask(beyond, 13, 4, "m"), Error);
}

TEST(DictSparseTest, RejectsBadShapesAndUnsortedOrRepeatedRows) {
  at::Tensor d = torch::randn({4, 6});
  at::Tensor rows = torch::tensor({{0, 1}, {2, 3}}, torch::kLong), values = torch::randn({2, 2});
  EXPECT_NO_THROW(DictSparseLinear(float_factor(d), rows, float_factor(values)));
  EXPECT_THROW(DictSparseLinear(float_factor(d), torch::tensor({{2, 1}, {0, 3}}, torch::kLong), float_factor(values)), Error);
  EXPECT_THROW(sorted_support(torch::tensor({{1, 1}, {1, 3}}, torch::kLong), values, 6), Error);
  EXPECT_THROW(sorted_support(torch::tensor({{0, 1}, {6, 3}}, torch::kLong), values, 6), Error);
  EXPECT_THROW(DictSparseLinear(float_factor(d), rows, float_factor(torch::randn({3, 2}))), Error);
}

// A synthetic model whose projections of layer 0 are replaced by dict-sparse layers of every storage variant.
std::unique_ptr<Transformer> model_with_dict_layers() {
  auto model = load_llama2c(lmshrink::testing::stories_bin());
  const ModelConfig& config = model->config();
  TransformerBlock& b0 = model->mutable_blocks()[0];
  TransformerBlock& b1 = model->mutable_blocks()[1];
  int64_t h = config.hidden_size, ff = config.intermediate_size;
  at::Generator g = at::detail::createCPUGenerator(9);
  auto make = [&](int64_t in, int64_t out, int64_t k, int64_t s, int bits, Factor dictionary, const std::string& owner) {
    at::Tensor rows = torch::rand({k, out}, g).argsort(/*dim=*/int64_t{0}).narrow(0, 0, s);
    auto [sorted_rows, values] = sorted_support(rows, torch::randn({s, out}, g) * 0.1, k);
    Factor v = bits ? quantized_factor(values, bits, 32) : float_factor(values);
    return std::make_unique<DictSparseLinear>(std::move(dictionary), sorted_rows, std::move(v), at::Tensor(), owner);
  };
  b0.q_proj = make(h, h, 12, 6, 0, float_factor(torch::randn({h, 12}, g) * 0.1), "");
  b0.up_proj = make(h, ff, 10, 5, 8, quantized_factor(torch::randn({h, 10}, g) * 0.1, 8, 32), "");
  b0.down_proj = make(ff, h, 9, 3, 4, quantized_factor(torch::randn({ff, 9}, g) * 0.1, 4, 32), "");
  b0.o_proj = make(h, h, 64, 1, 0, float_factor(torch::randn({h, 64}, g) * 0.1), "");  // row-index storage
  Factor shared = float_factor(torch::randn({h, 8}, g) * 0.1);
  b0.gate_proj = make(h, ff, 8, 4, 0, shared, "");
  b1.gate_proj = make(h, ff, 8, 4, 0, shared, "model.layers.0.mlp.gate_proj");
  return model;
}

TEST(DictSparseTest, SavedAndLoadedModelGivesIdenticalLogits) {
  auto model = model_with_dict_layers();
  auto dir = lmshrink::testing::temp_dir("dict_sparse_roundtrip");
  std::filesystem::create_directories(dir / "m");
  write_hf_model(*model, (dir / "m").string(), {{"method", "test"}});
  auto loaded = load_hf_model((dir / "m").string());
  at::Tensor tokens = torch::randint(0, model->config().vocab_size, {2, 9}, torch::kLong);
  // Bitwise: same bytes, shapes and strides after loading (row_major), so the same kernels in the same order.
  EXPECT_TRUE(model->forward(tokens).equal(loaded->forward(tokens)));
  const TransformerBlock& b = loaded->blocks()[0];
  EXPECT_EQ(b.q_proj->format(), "dictsparse");
  EXPECT_EQ(dynamic_cast<const DictSparseLinear&>(*b.o_proj).index_format(), "rows");
  EXPECT_EQ(dynamic_cast<const DictSparseLinear&>(*b.up_proj).values().quantized->bits, 8);
  EXPECT_EQ(dynamic_cast<const DictSparseLinear&>(*b.down_proj).dictionary().quantized->bits, 4);
  EXPECT_EQ(dynamic_cast<const DictSparseLinear&>(*loaded->blocks()[1].gate_proj).dictionary_owner(),
            "model.layers.0.mlp.gate_proj");
  for (size_t i = 0; i < model->named_linears().size(); ++i) {
    EXPECT_EQ(model->named_linears()[i].linear->params().bytes, loaded->named_linears()[i].linear->params().bytes);
  }
  SafetensorsFile file((dir / "m" / "model.safetensors").string());
  EXPECT_FALSE(file.contains("model.layers.1.mlp.gate_proj.dictionary"));  // stored once, by its owner
  EXPECT_EQ(file.tensor("model.layers.0.mlp.down_proj.values_codes").scalar_type(), torch::kByte);
}

TEST(DictSparseTest, QuantizedLayersCostFewerWordsAndFloatOnesCountTheirIndex) {
  auto model = model_with_dict_layers();
  const auto& up = dynamic_cast<const DictSparseLinear&>(*model->blocks()[0].up_proj);
  const auto& q = dynamic_cast<const DictSparseLinear&>(*model->blocks()[0].q_proj);
  double values = static_cast<double>(q.params().values);
  EXPECT_EQ(accounted_words(q, Accounting::kEffective), values);
  EXPECT_EQ(accounted_words(q, Accounting::kFull), values + q.index_bytes() / 2.0);
  EXPECT_LT(accounted_words(up, Accounting::kEffective), 0.6 * up.params().values);
}

}  // namespace
