// Fused first factors: a group of kernel layers that read one input gives each layer's float64 x · dense()ᵀ + b to
// 1e-5 relative (mixed LowRank, DictSparse and Dense members, decode and prefill token counts), the same bits as the
// unfused layers in decode, and its members still run on their own; layers sharing a dictionary fuse without copying
// it; layers that cannot be fused (different input widths or storage, a single layer, already fused) are left as
// they were; a prepared model decodes to the same bits fused and unfused.
#include <gtest/gtest.h>

#include "lmshrink/runtime/fused_first_factors.h"
#include "lmshrink/runtime/inference_prepare.h"
#include "lmshrink/runtime/synthetic_formats.h"
#include "runtime/kernel_test_support.h"

namespace {

using lmshrink::FastDenseLinear;
using lmshrink::FastDictSparseLinear;
using lmshrink::FastLowRankLinear;
using lmshrink::FusedFirstFactors;
using lmshrink::KernelLinear;
using lmshrink::Linear;
using lmshrink::PackedMatrix;
using lmshrink::SparseColumns;
using lmshrink::WeightStorage;
using lmshrink::testing::naive_rows_times;
using lmshrink::testing::random_normal;
using lmshrink::testing::relative_error;

constexpr int64_t kIn = 33;

std::shared_ptr<const PackedMatrix> random_dictionary(int64_t k, uint64_t seed) {
  return std::make_shared<const PackedMatrix>(random_normal({k, kIn}, seed), WeightStorage::kFloat32);
}

std::unique_ptr<FastDictSparseLinear> dict_layer(std::shared_ptr<const PackedMatrix> dictionary, int64_t out,
                                                 int64_t s, uint64_t seed) {
  int64_t k = dictionary->rows();
  at::Tensor draws = at::rand({k, out}, at::detail::createCPUGenerator(seed), torch::kFloat32);
  at::Tensor rows = std::get<0>(std::get<1>(draws.topk(s, 0)).sort(0));
  SparseColumns coefficients(rows, random_normal({s, out}, seed + 1), k, WeightStorage::kFloat32);
  return std::make_unique<FastDictSparseLinear>(std::move(dictionary), std::move(coefficients),
                                                random_normal({out}, seed + 2));
}

struct Trio {  // three layers of input width kIn, like q|k|v: low rank, dict-sparse and dense
  std::unique_ptr<KernelLinear> low_rank, dict, dense;
  std::vector<KernelLinear*> all() const { return {low_rank.get(), dict.get(), dense.get()}; }
  std::vector<const Linear*> linears() const { return {low_rank.get(), dict.get(), dense.get()}; }
};

Trio random_trio() {
  Trio trio;
  trio.low_rank = std::make_unique<FastLowRankLinear>(random_normal({kIn, 7}, 1), random_normal({7, 40}, 2), at::Tensor(),
                                                      WeightStorage::kFloat32);
  trio.dict = dict_layer(random_dictionary(19, 3), 17, 5, 4);
  trio.dense = std::make_unique<FastDenseLinear>(random_normal({9, kIn}, 8), random_normal({9}, 9), WeightStorage::kFloat32);
  return trio;
}

at::Tensor float64_reference(const Linear& layer, const at::Tensor& x_tokens_in) {
  at::Tensor want = naive_rows_times(layer.dense(), x_tokens_in);
  return layer.bias().defined() ? want + layer.bias().to(torch::kDouble) : want;
}

TEST(FusedFirstFactors, GroupGivesEachLayersDenseReferenceAndTheUnfusedDecodeBits) {
  Trio trio = random_trio();
  at::Tensor decode_x = random_normal({1, 1, kIn}, 10);
  std::vector<at::Tensor> unfused = lmshrink::forward_same_input(trio.linears(), decode_x);
  std::vector<int64_t> bytes;
  for (KernelLinear* layer : trio.all()) bytes.push_back(layer->bytes_read_per_token());

  ASSERT_TRUE(FusedFirstFactors::fuse(trio.all()));
  const lmshrink::SameInputGroup* group = trio.low_rank->same_input_group();
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->members(), trio.linears());
  std::vector<at::Tensor> fused = lmshrink::forward_same_input(trio.linears(), decode_x);
  for (size_t i = 0; i < fused.size(); ++i) {
    // Bitwise: decode runs lmshrink's own dot product on the same rows in the same order, fused or not.
    EXPECT_TRUE(fused[i].equal(unfused[i])) << "member " << i;
    EXPECT_EQ(trio.all()[i]->bytes_read_per_token(), bytes[i]);
  }
  for (int64_t tokens : {1, 3, 9, 33}) {
    at::Tensor x = random_normal({1, tokens, kIn}, 20 + tokens);
    std::vector<at::Tensor> outputs = lmshrink::forward_same_input(trio.linears(), x);
    ASSERT_EQ(outputs.size(), 3u);
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Linear& layer = *trio.linears()[i];
      ASSERT_EQ(outputs[i].sizes(), (std::vector<int64_t>{1, tokens, layer.out_features()}));
      at::Tensor want = float64_reference(layer, x[0]);
      EXPECT_LT(relative_error(outputs[i][0], want), 1e-5) << "member " << i << ", " << tokens << " tokens";
      EXPECT_LT(relative_error(layer.forward(x)[0], want), 1e-5) << "member " << i << " on its own";
    }
  }
}

TEST(FusedFirstFactors, LayersSharingADictionaryFuseWithoutCopyingIt) {
  auto shared = random_dictionary(11, 30);  // a CoSpaDi group's dictionary
  auto a = dict_layer(shared, 6, 3, 31), b = dict_layer(shared, 8, 3, 32);
  ASSERT_TRUE(FusedFirstFactors::fuse({a.get(), b.get()}));
  EXPECT_EQ(&a->first_factor(), shared.get());
  EXPECT_EQ(&b->first_factor(), shared.get());
  at::Tensor x = random_normal({5, kIn}, 37);
  std::vector<at::Tensor> outputs = lmshrink::forward_same_input({a.get(), b.get()}, x);
  EXPECT_LT(relative_error(outputs[0], float64_reference(*a, x)), 1e-5);
  EXPECT_LT(relative_error(outputs[1], float64_reference(*b, x)), 1e-5);
}

TEST(FusedFirstFactors, LayersThatMustNotBeFusedAreLeftAsTheyWere) {
  Trio trio = random_trio();
  FastDenseLinear wider(random_normal({5, kIn + 1}, 33), at::Tensor(), WeightStorage::kFloat32);
  FastDenseLinear half(random_normal({5, kIn}, 34), at::Tensor(), WeightStorage::kBFloat16);
  EXPECT_FALSE(FusedFirstFactors::fuse({trio.dense.get(), &wider}));
  EXPECT_FALSE(FusedFirstFactors::fuse({trio.dense.get(), &half}));
  EXPECT_FALSE(FusedFirstFactors::fuse({trio.dense.get()}));
  EXPECT_FALSE(FusedFirstFactors::fuse({trio.dense.get(), nullptr}));
  EXPECT_EQ(trio.dense->same_input_group(), nullptr);

  ASSERT_TRUE(FusedFirstFactors::fuse(trio.all()));
  EXPECT_FALSE(FusedFirstFactors::fuse({trio.low_rank.get(), trio.dict.get()}));  // already fused
  at::Tensor x = random_normal({2, 3, kIn}, 35);  // a subset of a group runs layer by layer
  std::vector<at::Tensor> pair = lmshrink::forward_same_input({trio.dense.get(), trio.low_rank.get()}, x);
  EXPECT_LT(relative_error(pair[0].reshape({6, -1}), float64_reference(*trio.dense, x.reshape({6, kIn}))), 1e-5);
  EXPECT_LT(relative_error(pair[1].reshape({6, -1}), float64_reference(*trio.low_rank, x.reshape({6, kIn}))), 1e-5);
}

// Decodes `steps` tokens one at a time (every product on the decode kernels) and returns the stacked logits.
at::Tensor decode_logits(const lmshrink::Transformer& model, const at::Tensor& tokens) {
  lmshrink::KVCache cache(model.config(), 1, tokens.size(1), torch::TensorOptions().dtype(torch::kFloat32));
  std::vector<at::Tensor> logits;
  for (int64_t t = 0; t < tokens.size(1); ++t) logits.push_back(model.forward(tokens.narrow(1, t, 1), &cache));
  return torch::cat(logits, 1);
}

TEST(FusedFirstFactors, PreparedModelDecodesTheSameBitsFusedAndUnfused) {
  at::Tensor tokens = torch::randint(0, 256, {1, 6}, at::detail::createCPUGenerator(36), torch::kInt64);
  for (const std::string& method : {"dense", "svd-llm", "cospadi"}) {
    auto fused = lmshrink::make_synthetic_from_spec("synthetic:tiny", 1);
    lmshrink::apply_synthetic_format(*fused, method, 0.3, 2);
    auto unfused = lmshrink::make_synthetic_from_spec("synthetic:tiny", 1);
    lmshrink::apply_synthetic_format(*unfused, method, 0.3, 2);
    lmshrink::prepare_for_inference(*fused, WeightStorage::kFloat32);
    lmshrink::prepare_for_inference(*unfused, WeightStorage::kFloat32, /*fuse_shared_inputs=*/false);
    for (const lmshrink::TransformerBlock& block : fused->blocks()) {
      ASSERT_NE(block.q_proj->same_input_group(), nullptr) << method;
      EXPECT_EQ(block.q_proj->same_input_group()->members(),
                (std::vector<const Linear*>{block.q_proj.get(), block.k_proj.get(), block.v_proj.get()}));
      EXPECT_EQ(block.up_proj->same_input_group(), block.gate_proj->same_input_group());
      EXPECT_EQ(block.o_proj->same_input_group(), nullptr);
    }
    EXPECT_EQ(unfused->blocks()[0].q_proj->same_input_group(), nullptr);
    // Bitwise in decode (the same dot product per row, see above); prefill differs (BLAS), hence the tolerance.
    EXPECT_TRUE(decode_logits(*fused, tokens).equal(decode_logits(*unfused, tokens))) << method;
    EXPECT_LT(relative_error(fused->forward(tokens), unfused->forward(tokens)), 1e-5) << method;  // prefill on BLAS
  }
}

}  // namespace
