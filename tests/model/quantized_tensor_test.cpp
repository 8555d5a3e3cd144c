// QuantizedTensor (group-wise symmetric RTN, int8 / int4): the half-scale error bound checked element by element
// against an independent float64 loop, scales that are the smallest float16 >= max|x| / qmax, the code range, exact
// pack / unpack round trips, the int4 nibble layout (hand-computed bytes), and one clear error per bad input.
#include "lmshrink/model/quantized_tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "lmshrink/util/error.h"

namespace {

using lmshrink::QuantizedTensor;

std::string error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const lmshrink::Error& e) {
    return e.what();
  }
  return "";
}

// [7, 13] = 91 values (odd, not a multiple of any tested group): randn * 10^u, u uniform in [-3, 2], then a block of
// 8 values ~1e-3, a block of 8 values ~1e2 and a block of 8 values ~1e-9 (scales below the smallest float16).
at::Tensor varied_magnitudes(uint64_t seed) {
  torch::manual_seed(seed);
  at::Tensor x = torch::randn({7, 13}) * torch::pow(10.0, torch::rand({7, 13}) * 5 - 3);
  at::Tensor flat = x.view({-1});
  flat.narrow(0, 0, 8).copy_(torch::randn({8}) * 1e-3);
  flat.narrow(0, 8, 8).copy_(torch::randn({8}) * 1e2);
  flat.narrow(0, 24, 8).copy_(torch::randn({8}) * 1e-9);
  return x;
}

std::vector<float> scales_of(const QuantizedTensor& q) {
  at::Tensor s = q.scales.to(torch::kFloat32).contiguous();
  return std::vector<float>(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
}

const int kBits[] = {8, 4};
const int64_t kGroupSizes[] = {1, 7, 8, 16, 128};

TEST(QuantizedTensorTest, ErrorWithinHalfScaleForInt8AndInt4) {
  at::Tensor x = varied_magnitudes(1);
  const float* value = x.data_ptr<float>();
  for (int bits : kBits) {
    for (int64_t group_size : kGroupSizes) {
      QuantizedTensor q = lmshrink::quantize_rtn(x, bits, group_size);
      at::Tensor xhat = q.dequantize();
      ASSERT_EQ(xhat.scalar_type(), torch::kFloat32);
      ASSERT_EQ(xhat.sizes(), x.sizes());
      ASSERT_EQ(q.scales.numel(), (91 + group_size - 1) / group_size);
      std::vector<float> scale = scales_of(q);
      const float* approx = xhat.contiguous().data_ptr<float>();
      for (int64_t i = 0; i < 91; ++i) {
        int64_t group = i / group_size;
        double error = std::fabs(static_cast<double>(value[i]) - static_cast<double>(approx[i]));
        double bound = 0.5 * static_cast<double>(scale[group]) + 1e-7 * std::fabs(static_cast<double>(value[i]));
        EXPECT_LE(error, bound) << "bits " << bits << ", group size " << group_size << ", index " << i << ", x "
                                << value[i] << ", scale " << scale[group];
      }
    }
  }
}

TEST(QuantizedTensorTest, ScaleIsAtLeastAmaxOverQmax) {
  at::Tensor x = varied_magnitudes(2);
  x.view({-1}).narrow(0, 32, 4).copy_(torch::tensor({127.0f, -1.0f, 3.0f, 0.5f}));  // amax 127: int8 scale exactly 1
  const float* value = x.data_ptr<float>();
  for (int bits : kBits) {
    float qmax = static_cast<float>(lmshrink::quantization_qmax(bits));
    for (int64_t group_size : kGroupSizes) {
      QuantizedTensor q = lmshrink::quantize_rtn(x, bits, group_size);
      const c10::Half* scale = q.scales.data_ptr<c10::Half>();
      for (int64_t g = 0; g < q.scales.numel(); ++g) {
        float amax = 0.0f;
        for (int64_t i = g * group_size; i < std::min<int64_t>(91, (g + 1) * group_size); ++i) {
          amax = std::max(amax, std::fabs(value[i]));
        }
        float wanted = amax / qmax;
        EXPECT_GE(static_cast<float>(scale[g]), wanted) << "bits " << bits << ", group " << g;
        if (scale[g].x > 0) {  // the float16 one step below is too small: scale is the smallest float16 >= amax / qmax
          c10::Half below(static_cast<unsigned short>(scale[g].x - 1), c10::Half::from_bits());
          EXPECT_LT(static_cast<float>(below), wanted) << "bits " << bits << ", group " << g;
        }
      }
    }
  }
  QuantizedTensor exact = lmshrink::quantize_rtn(torch::tensor({127.0f, -1.0f, 3.0f, 0.5f}), 8, 4);
  EXPECT_EQ(static_cast<float>(exact.scales.data_ptr<c10::Half>()[0]), 1.0f);
}

TEST(QuantizedTensorTest, CodesWithinRange) {
  at::Tensor x = varied_magnitudes(3);
  for (int bits : kBits) {
    int qmax = lmshrink::quantization_qmax(bits);
    for (int64_t group_size : kGroupSizes) {
      QuantizedTensor q = lmshrink::quantize_rtn(x, bits, group_size);
      ASSERT_EQ(q.codes.scalar_type(), torch::kInt8);
      ASSERT_EQ(q.codes.dim(), 1);
      ASSERT_EQ(q.codes.numel(), 91);
      EXPECT_GE(q.codes.min().item<int>(), -qmax) << "bits " << bits << ", group size " << group_size;
      EXPECT_LE(q.codes.max().item<int>(), qmax) << "bits " << bits << ", group size " << group_size;
    }
  }
  // A float16-exact scale (0.25 = 1.75 / 7) reaches both ends of the int4 range.
  QuantizedTensor full = lmshrink::quantize_rtn(torch::tensor({1.75f, -1.75f, 0.25f}), 4, 3);
  EXPECT_TRUE(full.codes.equal(torch::tensor({7, -7, 1}, torch::kInt8)));
}

TEST(QuantizedTensorTest, PackUnpackRoundTripsExactly) {
  torch::manual_seed(4);
  at::Tensor x = torch::randn({3, 5});  // 15 values: odd, groups of 4 leave a short last group
  for (int bits : kBits) {
    QuantizedTensor q = lmshrink::quantize_rtn(x, bits, 4);
    at::Tensor packed = q.packed();
    ASSERT_EQ(packed.scalar_type(), torch::kUInt8);
    ASSERT_EQ(packed.numel(), bits == 8 ? 15 : 8);
    EXPECT_EQ(q.storage_bytes(), packed.numel() + 2 * 4);
    if (bits == 8) {
      EXPECT_TRUE(packed.view(torch::kInt8).equal(q.codes));  // int8: the codes' own bytes
    }
    QuantizedTensor back = lmshrink::unpack_quantized(packed, q.scales, bits, 4, {3, 5}, "x");
    EXPECT_EQ(back.bits, bits);
    EXPECT_EQ(back.group_size, 4);
    EXPECT_EQ(back.shape, (std::vector<int64_t>{3, 5}));
    EXPECT_TRUE(back.codes.equal(q.codes)) << "bits " << bits;
    EXPECT_TRUE(back.scales.equal(q.scales)) << "bits " << bits;
    EXPECT_TRUE(back.dequantize().equal(q.dequantize())) << "bits " << bits;
    EXPECT_TRUE(back.packed().equal(packed)) << "bits " << bits;
  }
}

TEST(QuantizedTensorTest, ZeroGroupGivesZeroScale) {
  at::Tensor x = torch::tensor({0.0f, -0.0f, 0.0f, 0.0f, 1.0f, -2.0f, 0.0f, 3.0f, 0.0f, 0.0f});
  for (int bits : kBits) {
    QuantizedTensor q = lmshrink::quantize_rtn(x, bits, 4);
    std::vector<float> scale = scales_of(q);
    EXPECT_EQ(scale[0], 0.0f);
    EXPECT_GT(scale[1], 0.0f);
    EXPECT_EQ(scale[2], 0.0f);
    at::Tensor xhat = q.dequantize();
    for (int64_t i : {0, 1, 2, 3, 6, 8, 9}) {
      EXPECT_EQ(q.codes[i].item<int>(), 0);
      EXPECT_EQ(xhat[i].item<float>(), 0.0f);
    }
  }
  QuantizedTensor zeros = lmshrink::quantize_rtn(torch::zeros({2, 3}), 4, 2);
  EXPECT_EQ(zeros.scales.to(torch::kFloat32).abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(zeros.dequantize().equal(torch::zeros({2, 3})));
}

TEST(QuantizedTensorTest, Int4NibbleLayout) {
  // amax 7, qmax 7: scale exactly 1, codes {7, -7, 0, 1, -1} -> nibbles (code + 8) {15, 1, 8, 9, 7}, low nibble first:
  // byte 0 = 15 | 1 << 4 = 0x1F, byte 1 = 8 | 9 << 4 = 0x98, byte 2 = 7 | 8 << 4 (padding) = 0x87.
  QuantizedTensor q = lmshrink::quantize_rtn(torch::tensor({7.0f, -7.0f, 0.0f, 1.0f, -1.0f}), 4, 5);
  EXPECT_EQ(scales_of(q), (std::vector<float>{1.0f}));
  EXPECT_TRUE(q.codes.equal(torch::tensor({7, -7, 0, 1, -1}, torch::kInt8)));
  EXPECT_TRUE(q.packed().equal(torch::tensor({0x1F, 0x98, 0x87}, torch::kUInt8))) << q.packed();
  EXPECT_EQ(q.storage_bytes(), 3 + 2);
}

TEST(QuantizedTensorTest, RejectsBadBitsAndGroupSize) {
  EXPECT_EQ(lmshrink::quantization_qmax(8), 127);
  EXPECT_EQ(lmshrink::quantization_qmax(4), 7);
  at::Tensor x = torch::ones({4});
  for (int bits : {0, 2, 3, 16}) {
    std::string error = error_of([&] { lmshrink::quantize_rtn(x, bits, 2); });
    EXPECT_NE(error.find("quantize: "), std::string::npos) << error;  // the field; the CLI shows --quantize
    EXPECT_NE(error.find("int8 or int4"), std::string::npos) << error;
  }
  for (int64_t group_size : {0, -4}) {
    std::string error = error_of([&] { lmshrink::quantize_rtn(x, 8, group_size); });
    EXPECT_NE(error.find("group size must be positive"), std::string::npos) << error;
  }
  EXPECT_NE(error_of([&] { lmshrink::quantize_rtn(torch::ones({4}, torch::kInt32), 8, 2); }).find("floating"),
            std::string::npos);
}

TEST(QuantizedTensorTest, RejectsNonFinite) {
  float inf = std::numeric_limits<float>::infinity();
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), inf, -inf}) {
    at::Tensor x = torch::tensor({1.0f, 2.0f, 3.0f, bad, 5.0f});
    std::string error = error_of([&] { lmshrink::quantize_rtn(x, 8, 2); });
    EXPECT_NE(error.find("group 1 holds a non-finite value"), std::string::npos) << error;
  }
  at::Tensor too_big_for_float32 = torch::tensor({1e300}, torch::kFloat64);
  EXPECT_NE(error_of([&] { lmshrink::quantize_rtn(too_big_for_float32, 8, 1); }).find("non-finite"), std::string::npos);
}

TEST(QuantizedTensorTest, RejectsScalesBeyondFloat16) {
  // amax / qmax = 65504 (the largest float16) is still representable; anything above is not.
  EXPECT_EQ(scales_of(lmshrink::quantize_rtn(torch::tensor({65504.0f * 7}), 4, 1)), (std::vector<float>{65504.0f}));
  EXPECT_EQ(scales_of(lmshrink::quantize_rtn(torch::tensor({65504.0f * 127}), 8, 1)), (std::vector<float>{65504.0f}));
  std::string error = error_of([] { lmshrink::quantize_rtn(torch::tensor({1.0f, 459000.0f}), 4, 2); });
  EXPECT_NE(error.find("exceeds the float16 scale range"), std::string::npos) << error;
  EXPECT_NE(error_of([] { lmshrink::quantize_rtn(torch::tensor({8.4e6f}), 8, 1); }).find("float16"), std::string::npos);
}

TEST(QuantizedTensorTest, UnpackRejectsWrongSizesAndOutOfRangeCodes) {
  const std::string what = "model.layers.0.mlp.up_proj.a";
  torch::manual_seed(5);
  at::Tensor x = torch::randn({3, 5});
  QuantizedTensor q4 = lmshrink::quantize_rtn(x, 4, 4), q8 = lmshrink::quantize_rtn(x, 8, 4);
  at::Tensor p4 = q4.packed(), p8 = q8.packed();
  auto unpack_error = [&](const at::Tensor& packed, const at::Tensor& scales, int bits, int64_t group_size) {
    return error_of([&] { lmshrink::unpack_quantized(packed, scales, bits, group_size, {3, 5}, what); });
  };
  auto expect_error = [&](const std::string& error, const std::string& detail) {
    EXPECT_NE(error.find(what), std::string::npos) << error;
    EXPECT_NE(error.find(detail), std::string::npos) << error;
  };
  expect_error(unpack_error(p4.narrow(0, 0, 7), q4.scales, 4, 4), "packed int4 codes as uint8 [8]");
  expect_error(unpack_error(p8, q8.scales, 4, 4), "packed int4 codes as uint8 [8]");  // int8 bytes read as int4
  expect_error(unpack_error(p8.view(torch::kInt8), q8.scales, 8, 4), "packed int8 codes as uint8 [15]");
  expect_error(unpack_error(p4, q4.scales.to(torch::kFloat32), 4, 4), "expected float16 scales [4]");
  expect_error(unpack_error(p4, q4.scales.narrow(0, 0, 3), 4, 4), "expected float16 scales [4]");
  expect_error(unpack_error(p4, q4.scales, 4, 8), "expected float16 scales [2]");
  expect_error(unpack_error(p4, -q4.scales, 4, 4), "finite and non-negative");
  expect_error(unpack_error(p4, q4.scales, 5, 4), "bit width must be 8 or 4");
  expect_error(unpack_error(p4, q4.scales, 4, 0), "group size must be positive");
  at::Tensor low_nibble_zero = p4.clone();
  low_nibble_zero.data_ptr<uint8_t>()[2] &= 0xF0;  // index 4: code -8
  expect_error(unpack_error(low_nibble_zero, q4.scales, 4, 4), "int4 code -8 at index 4 is outside [-7, 7]");
  at::Tensor bad_padding = p4.clone();
  bad_padding.data_ptr<uint8_t>()[7] = static_cast<uint8_t>((bad_padding.data_ptr<uint8_t>()[7] & 0x0F) | 0x30);
  expect_error(unpack_error(bad_padding, q4.scales, 4, 4), "padding nibble");
  at::Tensor minus_128 = p8.clone();
  minus_128.data_ptr<uint8_t>()[6] = 0x80;
  expect_error(unpack_error(minus_128, q8.scales, 8, 4), "int8 code -128 at index 6 is outside [-127, 127]");
}

}  // namespace
