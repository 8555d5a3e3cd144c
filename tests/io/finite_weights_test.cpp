// first_nonfinite (io/finite_weights.h) against libtorch's isfinite as the independent reference: every floating
// dtype, NaN, +Inf and -Inf at random positions (first, last, inside and across the 4096-element chunks), strided
// views, and values near the largest finite one that must not be flagged.
#include "lmshrink/io/finite_weights.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "lmshrink/util/error.h"

namespace {

int64_t reference_first_nonfinite(const at::Tensor& t) {
  at::Tensor bad = torch::logical_not(torch::isfinite(t.to(torch::kFloat64))).reshape({-1}).nonzero();
  return bad.numel() == 0 ? -1 : bad[0][0].item<int64_t>();
}

TEST(FiniteWeightsTest, FirstNonFiniteMatchesIsfiniteForEveryDtype) {
  torch::manual_seed(7);
  const double kBad[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                         -std::numeric_limits<double>::infinity()};
  for (at::ScalarType dtype : {torch::kBFloat16, torch::kFloat16, torch::kFloat32, torch::kFloat64}) {
    for (int64_t n : {1, 5, 4096, 4097, 20000}) {
      for (int trial = 0; trial < 6; ++trial) {
        at::Tensor t = torch::randn({n}, torch::kFloat64).to(dtype);
        EXPECT_EQ(lmshrink::first_nonfinite(t), -1);
        int64_t a = torch::randint(n, {1}).item<int64_t>(), b = torch::randint(n, {1}).item<int64_t>();
        t[a] = kBad[trial % 3];
        if (trial % 2) t[b] = kBad[(trial + 1) % 3];
        EXPECT_EQ(lmshrink::first_nonfinite(t), reference_first_nonfinite(t)) << dtype << " n " << n;
      }
    }
  }
}

TEST(FiniteWeightsTest, LargestFiniteValuesAndStridedViews) {
  for (at::ScalarType dtype : {torch::kBFloat16, torch::kFloat16, torch::kFloat32, torch::kFloat64}) {
    double largest = dtype == torch::kBFloat16 ? 3.3895313892515355e38
                     : dtype == torch::kFloat16 ? 65504.0
                     : dtype == torch::kFloat32 ? std::numeric_limits<float>::max()
                                                : std::numeric_limits<double>::max();
    at::Tensor t = torch::full({64, 32}, largest, torch::TensorOptions().dtype(dtype));
    t[3][5] = -largest;
    EXPECT_EQ(lmshrink::first_nonfinite(t), -1) << dtype;
    t[10][1] = std::numeric_limits<double>::quiet_NaN();
    at::Tensor transposed = t.t();  // element [1][10] of the view: flat index 1 * 64 + 10
    EXPECT_EQ(lmshrink::first_nonfinite(transposed), 1 * 64 + 10) << dtype;
    EXPECT_EQ(lmshrink::first_nonfinite(transposed), reference_first_nonfinite(transposed)) << dtype;
    EXPECT_THROW(lmshrink::check_finite_weight(t, "m.safetensors", "w"), lmshrink::Error);
  }
  EXPECT_EQ(lmshrink::first_nonfinite(torch::full({3}, 7, torch::kInt64)), -1);  // integer codes are never flagged
}

}  // namespace
