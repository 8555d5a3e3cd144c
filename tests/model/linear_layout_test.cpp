// The layout every layer stores (row_major, linear.h; issue 27): a tensor whose strides BLAS reads as transposed is
// copied row-major and nothing else is; a layer built from such a factor gives the bits of the same factor loaded
// from a file; and a weight at an address that is not 64-byte aligned (a safetensors mmap) gives the same bits as
// an aligned one, which is what lets the save/load tests compare logits bitwise.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lmshrink/model/linear.h"
#include "lmshrink/model/low_rank.h"

namespace {

using lmshrink::DenseLinear;
using lmshrink::LowRankLinear;

at::Tensor normal(std::vector<int64_t> shape, uint64_t seed) {
  return at::normal(0.0, 1.0, shape, at::detail::createCPUGenerator(seed), torch::kFloat32);
}

// A row-major copy of t whose first element sits 4 bytes past a 64-byte boundary, as in a safetensors mmap.
at::Tensor misaligned_copy(const at::Tensor& t) {
  at::Tensor storage = torch::empty({t.numel() + 32}, torch::kFloat32);
  int64_t to_boundary = static_cast<int64_t>((64 - reinterpret_cast<uintptr_t>(storage.data_ptr()) % 64) % 64) / 4;
  at::Tensor shifted = storage.narrow(0, to_boundary + 1, t.numel());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(shifted.data_ptr()) % 64, 4u);
  return shifted.view(t.sizes()).copy_(t);
}

TEST(LinearLayoutTest, RowMajorCopiesOnlyWhatBlasWouldReadTransposed) {
  at::Tensor column = normal({1, 64}, 1).t();  // [64, 1], strides [1, 64]: "contiguous" to libtorch
  ASSERT_TRUE(column.is_contiguous());
  at::Tensor fixed = lmshrink::row_major(column);
  EXPECT_EQ(fixed.strides(), (std::vector<int64_t>{1, 1}));
  EXPECT_TRUE(fixed.equal(column));
  at::Tensor plain = normal({5, 3}, 2);
  EXPECT_EQ(lmshrink::row_major(plain).data_ptr(), plain.data_ptr());  // already row-major: no copy
  at::Tensor transposed = normal({3, 5}, 3).t();
  EXPECT_EQ(lmshrink::row_major(transposed).strides(), (std::vector<int64_t>{3, 1}));
  EXPECT_FALSE(lmshrink::row_major(at::Tensor()).defined());
}

TEST(LinearLayoutTest, RankOneLayerFromATransposedViewMatchesItsLoadedCopyBitwise) {
  at::Tensor a_view = normal({1, 64}, 4).t(), b = normal({1, 32}, 5);  // A [64, 1] as a compressor returns it
  at::Tensor a_loaded = a_view.contiguous().view({64}).clone().view({64, 1});  // strides [1, 1], as a file gives it
  LowRankLinear built(a_view, b), loaded(a_loaded, b);
  for (int64_t tokens : {int64_t{1}, int64_t{32}}) {
    at::Tensor x = normal({2, tokens, 64}, 6);
    EXPECT_TRUE(built.forward(x).equal(loaded.forward(x))) << tokens << " tokens";
    at::Tensor want = torch::matmul(x.to(torch::kFloat64), torch::matmul(a_view, b).to(torch::kFloat64));
    EXPECT_TRUE(torch::allclose(built.forward(x).to(torch::kFloat64), want, 1e-5, 1e-5));
  }
}

TEST(LinearLayoutTest, MisalignedWeightsGiveTheSameBitsAsAlignedOnes) {
  for (auto [out, in] : {std::pair<int64_t, int64_t>{64, 64}, {32, 64}, {172, 64}, {512, 64}}) {
    at::Tensor w = normal({out, in}, 7), a = normal({in, 2}, 8), b = normal({2, out}, 9);
    DenseLinear dense(w), dense_shifted(misaligned_copy(w));
    LowRankLinear low_rank(a, b), low_rank_shifted(misaligned_copy(a), misaligned_copy(b));
    for (int64_t tokens : {int64_t{1}, int64_t{32}}) {  // decode (GEMV) and prefill (GEMM)
      at::Tensor x = normal({2, tokens, in}, 10);
      EXPECT_TRUE(dense.forward(x).equal(dense_shifted.forward(x))) << out << "x" << in << ", " << tokens << " tokens";
      EXPECT_TRUE(low_rank.forward(x).equal(low_rank_shifted.forward(x))) << out << "x" << in << ", " << tokens;
    }
  }
}

}  // namespace
