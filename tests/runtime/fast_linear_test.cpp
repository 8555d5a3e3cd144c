// The kernel layers against the reference layers they replace: forward() equals x · dense()ᵀ (float64) to 1e-5
// relative for LowRank, DictSparse (odd sizes, s = 1, s = k, k >= 65536) and Dense, bf16 within bf16 tolerance;
// a prepared model (the real stories260K, and every synthetic format) gives the reference logits and tokens, with
// the same bits for any thread count; and the bytes per token are counted from the shapes.
#include <gtest/gtest.h>

#include <map>

#include "lmshrink/io/llama2c.h"
#include "lmshrink/model/dict_sparse.h"
#include "lmshrink/model/low_rank.h"
#include "lmshrink/runtime/synthetic_formats.h"
#include "lmshrink/runtime/generate.h"
#include "lmshrink/runtime/inference_prepare.h"
#include "lmshrink/util/error.h"
#include "runtime/kernel_test_support.h"
#include "test_support.h"

namespace {

using lmshrink::WeightStorage;
using lmshrink::testing::naive_rows_times;
using lmshrink::testing::random_normal;
using lmshrink::testing::relative_error;

// x [..., in] through `layer` against float64 x · dense()ᵀ + bias, for decode and prefill token counts.
void expect_layer_matches(const lmshrink::Linear& source, WeightStorage storage, double tolerance) {
  lmshrink::DictionaryCache dictionaries;
  auto kernel = lmshrink::kernel_linear(source, storage, dictionaries);
  EXPECT_EQ(kernel->format(), source.format());
  at::Tensor reference_weight = storage == WeightStorage::kFloat32 ? source.dense() : kernel->dense();
  for (int64_t tokens : {1, 2, 9, 33}) {
    at::Tensor x = random_normal({1, tokens, source.in_features()}, 30 + tokens);
    at::Tensor want = naive_rows_times(reference_weight, x[0]);
    if (source.bias().defined()) want += source.bias().to(torch::kDouble);
    at::Tensor got = kernel->forward(x);
    ASSERT_EQ(got.sizes(), (std::vector<int64_t>{1, tokens, source.out_features()}));
    EXPECT_LT(relative_error(got[0], want), tolerance) << source.format() << ", " << tokens << " tokens";
  }
}

lmshrink::DictSparseLinear random_dict_layer(int64_t in, int64_t k, int64_t out, int64_t s, bool bias) {
  at::Tensor draws = at::rand({k, out}, at::detail::createCPUGenerator(40), torch::kFloat32);
  auto [rows, values] = lmshrink::sorted_support(std::get<1>(draws.topk(s, 0)), random_normal({s, out}, 41), k);
  return lmshrink::DictSparseLinear(lmshrink::float_factor(random_normal({in, k}, 42)), rows, lmshrink::float_factor(values),
                                    bias ? random_normal({out}, 43) : at::Tensor());
}

TEST(FastLinear, LowRankEqualsItsDenseReference) {
  lmshrink::LowRankLinear layer(random_normal({67, 5}, 1), random_normal({5, 131}, 2), random_normal({131}, 3));
  expect_layer_matches(layer, WeightStorage::kFloat32, 1e-5);
  expect_layer_matches(layer, WeightStorage::kBFloat16, 1e-5);  // against the bf16 weights it holds
  lmshrink::LowRankLinear rank_one(random_normal({9, 1}, 4), random_normal({1, 3}, 5));
  expect_layer_matches(rank_one, WeightStorage::kFloat32, 1e-5);
}

TEST(FastLinear, DictSparseEqualsItsDenseReferenceForOddSizesAndExtremeSparsity) {
  for (auto [in, k, out, s] : std::vector<std::array<int64_t, 4>>{{33, 20, 47, 1}, {33, 20, 47, 20}, {64, 129, 31, 64}}) {
    lmshrink::DictSparseLinear layer = random_dict_layer(in, k, out, s, true);
    expect_layer_matches(layer, WeightStorage::kFloat32, 1e-5);
    expect_layer_matches(layer, WeightStorage::kBFloat16, 1e-5);
  }
}

TEST(FastLinear, DictSparseWithMoreThan65535AtomsUses32BitIndices) {
  lmshrink::DictSparseLinear layer = random_dict_layer(3, 65537, 5, 7, false);
  lmshrink::DictionaryCache dictionaries;
  auto kernel = lmshrink::kernel_linear(layer, WeightStorage::kFloat32, dictionaries);
  const auto& fast = dynamic_cast<const lmshrink::FastDictSparseLinear&>(*kernel);
  EXPECT_EQ(fast.coefficients().index_bits(), 32);
  EXPECT_EQ(fast.bytes_read_per_token(), 3 * 65537 * 4 + 7 * 5 * (4 + 4));
  expect_layer_matches(layer, WeightStorage::kFloat32, 1e-5);
}

TEST(FastLinear, DenseBfloat16IsWithinBfloat16Tolerance) {
  lmshrink::DenseLinear layer(random_normal({45, 77}, 6));
  expect_layer_matches(layer, WeightStorage::kFloat32, 1e-5);
  lmshrink::DictionaryCache dictionaries;
  auto kernel = lmshrink::kernel_linear(layer, WeightStorage::kBFloat16, dictionaries);
  at::Tensor x = random_normal({4, 77}, 7);
  EXPECT_LT(relative_error(kernel->forward(x), naive_rows_times(layer.weight(), x)), 1e-2);
  EXPECT_EQ(lmshrink::linear_bytes_per_token(*kernel), 45 * 77 * 2);
}

TEST(FastLinear, PreparedStoriesGivesTheReferenceLogitsAndGreedyTokens) {
  auto reference = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  auto prepared = lmshrink::load_llama2c(lmshrink::testing::stories_bin());
  EXPECT_EQ(lmshrink::prepare_for_inference(*prepared, WeightStorage::kFloat32), 5 * 7 + 1);
  at::Tensor tokens = torch::randint(3, 512, {2, 40}, at::detail::createCPUGenerator(8), torch::kInt64);
  EXPECT_LT(relative_error(prepared->forward(tokens), reference->forward(tokens)), 1e-5);
  std::vector<int32_t> prompt = {1, 403, 407, 261};
  auto want = lmshrink::generate(*reference, prompt, 252, {}).tokens;  // llama2.c's 256 steps
  EXPECT_EQ(lmshrink::generate(*prepared, prompt, 252, {}).tokens, want);
  EXPECT_EQ(lmshrink::prepare_for_inference(*prepared, WeightStorage::kFloat32), 0);  // already packed
}

TEST(FastLinear, EverySyntheticFormatPreparedGivesTheReferenceLogitsForAnyThreadCount) {
  at::Tensor tokens = torch::randint(0, 256, {1, 12}, at::detail::createCPUGenerator(9), torch::kInt64);
  for (const std::string& method : lmshrink::synthetic_format_methods()) {
    auto model = lmshrink::make_synthetic_from_spec("synthetic:tiny", 1);
    lmshrink::apply_synthetic_format(*model, method, 0.3, 2);
    at::Tensor want = model->forward(tokens);
    lmshrink::prepare_for_inference(*model, WeightStorage::kFloat32);
    at::Tensor single;
    {
      lmshrink::testing::ThreadCount threads(1);
      single = model->forward(tokens);
      EXPECT_LT(relative_error(single, want), 1e-5) << method;
      lmshrink::KVCache cache(model->config(), 1, 13, torch::TensorOptions().dtype(torch::kFloat32));
      model->forward(tokens.narrow(1, 0, 11), &cache);
      EXPECT_LT(relative_error(model->forward(tokens.narrow(1, 11, 1), &cache)[0][0], want[0][11]), 1e-5) << method;
    }
    lmshrink::testing::ThreadCount threads(3);
    // Bitwise: no output element is summed by more than one thread (the kernels split rows, OpenBLAS splits M and N,
    // never K, ATen's row-wise ops keep a row in one thread), so the thread count never changes a sum's order.
    EXPECT_TRUE(model->forward(tokens).equal(single)) << method;
  }
}

TEST(FastLinear, BytesPerTokenCountTheWeightsFromTheShapes) {
  auto model = lmshrink::make_synthetic_from_spec("synthetic:tiny", 1);  // hidden 64, MLP 160, q 64, kv 32, vocab 256
  int64_t per_block = 64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 64 * 160;
  int64_t linear_values = 2 * per_block + 256 * 64;
  EXPECT_EQ(lmshrink::model_weight_bytes_per_token(*model), 4 * linear_values + 4 * 64);
  lmshrink::prepare_for_inference(*model, WeightStorage::kBFloat16);
  EXPECT_EQ(lmshrink::model_weight_bytes_per_token(*model), 2 * linear_values + 4 * 64);

  auto low_rank = lmshrink::make_synthetic_from_spec("synthetic:tiny", 1);
  lmshrink::apply_synthetic_format(*low_rank, "svd-llm", 0.5, 2);
  int64_t r_square = 64 * 64 / 2 / 128, r_kv = 64 * 32 / 2 / 96, r_mlp = 64 * 160 / 2 / 224;  // ⌊(1−γ) d1 d2 / (d1+d2)⌋
  int64_t low_rank_block = 2 * r_square * 128 + 2 * r_kv * 96 + 3 * r_mlp * 224;
  EXPECT_EQ(lmshrink::model_weight_bytes_per_token(*low_rank), 4 * (2 * low_rank_block + 256 * 64) + 4 * 64);
}

TEST(FastLinear, SyntheticModelsBuiltAsKernelsHoldTheMethodsFormats) {
  const std::map<std::string, std::string> expected = {{"dense", "dense"},     {"svd-llm", "lowrank"},
                                                       {"cospadi", "dictsparse"}, {"compot", "dictsparse"},
                                                       {"rocket", "dictsparse"},  {"masa", "dense"}};
  at::Tensor tokens = torch::randint(0, 256, {1, 5}, at::detail::createCPUGenerator(10), torch::kInt64);
  for (const auto& [method, format] : expected) {
    auto model = lmshrink::make_synthetic_from_spec("synthetic:tiny", 1, method, 0.3, WeightStorage::kBFloat16);
    EXPECT_EQ(model->config().source_format, "synthetic");
    for (const lmshrink::NamedLinear& named : model->named_linears()) {
      if (named.name == "lm_head") continue;  // packed by prepare_for_inference
      const auto* kernel = dynamic_cast<const lmshrink::KernelLinear*>(named.linear);
      ASSERT_NE(kernel, nullptr) << method << " " << named.name;
      bool mlp = named.name.find(".mlp.") != std::string::npos;
      EXPECT_EQ(kernel->format(), method == "masa" && mlp ? "dense" : format) << method << " " << named.name;
    }
    EXPECT_EQ(lmshrink::prepare_for_inference(*model, WeightStorage::kBFloat16), 1) << method;  // only lm_head left
    EXPECT_TRUE(torch::isfinite(model->forward(tokens)).all().item<bool>()) << method;
  }
}

TEST(FastLinear, SyntheticFormatsRejectBadInput) {
  auto model = lmshrink::make_synthetic_from_spec("synthetic:tiny", 1);
  EXPECT_THROW(lmshrink::apply_synthetic_format(*model, "pruning", 0.3, 1), lmshrink::Error);
  EXPECT_THROW(lmshrink::apply_synthetic_format(*model, "cospadi", 1.2, 1), lmshrink::Error);
  EXPECT_THROW(lmshrink::make_synthetic_from_spec("synthetic:llama-70b", 1), lmshrink::Error);
}

}  // namespace
