// Group-wise RTN quantization (see quantized_tensor.h): plain loops over groups on the CPU in float32.
#include "lmshrink/model/quantized_tensor.h"

#include <algorithm>
#include <cmath>

#include "lmshrink/util/error.h"

namespace lmshrink {

namespace {

constexpr float kMaxHalf = 65504.0f;

int64_t group_count(int64_t numel, int64_t group_size) { return (numel + group_size - 1) / group_size; }
int64_t packed_bytes(int bits, int64_t numel) { return bits == 8 ? numel : (numel + 1) / 2; }

// The smallest float16 >= scale, for 0 <= scale <= 65504: the nearest one, bumped one step up when it is below.
c10::Half half_at_least(float scale) {
  c10::Half half(scale);
  if (static_cast<float>(half) < scale) half = c10::Half(static_cast<unsigned short>(half.x + 1), c10::Half::from_bits());
  return half;
}

// Quantizes values[0, count) into codes[0, count) and returns the group's scale.
c10::Half quantize_group(const float* values, int64_t count, int qmax, int64_t group, int8_t* codes) {
  float amax = 0.0f;
  for (int64_t i = 0; i < count; ++i) {
    LMSHRINK_CHECK(std::isfinite(values[i]), "quantize_rtn: group ", group, " holds a non-finite value (", values[i], ")");
    amax = std::max(amax, std::fabs(values[i]));
  }
  float scale = amax / static_cast<float>(qmax);
  LMSHRINK_CHECK(scale <= kMaxHalf, "quantize_rtn: group ", group, " has max |x| = ", amax, "; max |x| / ", qmax,
                 " exceeds the float16 scale range (65504)");
  c10::Half scale_half = half_at_least(scale);
  float scale_rounded = static_cast<float>(scale_half);
  for (int64_t i = 0; i < count; ++i) {
    codes[i] = scale_rounded == 0.0f ? 0 : static_cast<int8_t>(std::round(values[i] / scale_rounded));
  }
  return scale_half;
}

}  // namespace

int quantization_qmax(int bits) {
  LMSHRINK_CHECK(bits == 8 || bits == 4, "quantize: unsupported bit width ", bits, " (supported: int8 or int4)");
  return bits == 8 ? 127 : 7;
}

int64_t QuantizedTensor::numel() const {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  return count;
}

at::Tensor QuantizedTensor::dequantize() const {
  at::Tensor codes_flat = codes.to(torch::kCPU).contiguous();
  at::Tensor scales_flat = scales.to(torch::kCPU).contiguous();
  at::Tensor values = torch::empty({numel()}, torch::kFloat32);
  const int8_t* code = codes_flat.data_ptr<int8_t>();
  const c10::Half* scale = scales_flat.data_ptr<c10::Half>();
  float* value = values.data_ptr<float>();
  for (int64_t i = 0; i < values.numel(); ++i) value[i] = static_cast<float>(code[i]) * static_cast<float>(scale[i / group_size]);
  return values.view(shape);
}

at::Tensor QuantizedTensor::packed() const {
  at::Tensor codes_flat = codes.to(torch::kCPU).contiguous();
  if (bits == 8) return codes_flat.view(torch::kByte).clone();
  int64_t count = codes_flat.numel();
  at::Tensor bytes = torch::empty({packed_bytes(4, count)}, torch::kByte);
  const int8_t* code = codes_flat.data_ptr<int8_t>();
  uint8_t* byte = bytes.data_ptr<uint8_t>();
  for (int64_t i = 0; i < bytes.numel(); ++i) {
    int low = code[2 * i] + 8;
    int high = 2 * i + 1 < count ? code[2 * i + 1] + 8 : 8;
    byte[i] = static_cast<uint8_t>(low | (high << 4));
  }
  return bytes;
}

int64_t QuantizedTensor::storage_bytes() const { return packed_bytes(bits, numel()) + 2 * scales.numel(); }

QuantizedTensor quantize_rtn(const at::Tensor& x, int bits, int64_t group_size) {
  int qmax = quantization_qmax(bits);
  LMSHRINK_CHECK(group_size > 0, "quantize: group size must be positive, got ", group_size);
  LMSHRINK_CHECK(x.defined() && x.is_floating_point(), "quantize_rtn: expected a floating tensor");
  at::Tensor values = x.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  int64_t count = values.numel();
  QuantizedTensor q;
  q.bits = bits;
  q.group_size = group_size;
  q.shape = values.sizes().vec();
  q.codes = torch::empty({count}, torch::kInt8);
  q.scales = torch::empty({group_count(count, group_size)}, torch::kFloat16);
  const float* value = values.data_ptr<float>();
  int8_t* code = q.codes.data_ptr<int8_t>();
  c10::Half* scale = q.scales.data_ptr<c10::Half>();
  for (int64_t g = 0; g < q.scales.numel(); ++g) {
    int64_t begin = g * group_size;
    scale[g] = quantize_group(value + begin, std::min(group_size, count - begin), qmax, g, code + begin);
  }
  return q;
}

QuantizedTensor unpack_quantized(const at::Tensor& packed, const at::Tensor& scales, int bits, int64_t group_size,
                                 const std::vector<int64_t>& shape, const std::string& what) {
  LMSHRINK_CHECK(bits == 8 || bits == 4, what, ": quantized bit width must be 8 or 4, got ", bits);
  LMSHRINK_CHECK(group_size > 0, what, ": quantization group size must be positive, got ", group_size);
  QuantizedTensor q;
  q.bits = bits;
  q.group_size = group_size;
  q.shape = shape;
  for (int64_t d : shape) LMSHRINK_CHECK(d >= 0, what, ": negative dimension in shape");
  int64_t count = q.numel();
  LMSHRINK_CHECK(packed.defined() && packed.scalar_type() == torch::kByte && packed.dim() == 1 &&
                     packed.numel() == packed_bytes(bits, count),
                 what, ": expected packed int", bits, " codes as uint8 [", packed_bytes(bits, count), "] for ", count,
                 " values, got ", packed.defined() ? c10::toString(packed.scalar_type()) : "undefined", " ",
                 packed.defined() ? packed.sizes() : at::IntArrayRef{});
  LMSHRINK_CHECK(scales.defined() && scales.scalar_type() == torch::kFloat16 && scales.dim() == 1 &&
                     scales.numel() == group_count(count, group_size),
                 what, ": expected float16 scales [", group_count(count, group_size), "] (", count, " values in groups of ",
                 group_size, "), got ", scales.defined() ? c10::toString(scales.scalar_type()) : "undefined", " ",
                 scales.defined() ? scales.sizes() : at::IntArrayRef{});
  q.scales = scales.to(torch::kCPU).contiguous();
  at::Tensor scales_float = q.scales.to(torch::kFloat32);
  LMSHRINK_CHECK(torch::isfinite(scales_float).all().item<bool>() && (scales_float >= 0).all().item<bool>(), what,
                 ": quantization scales must be finite and non-negative");
  at::Tensor bytes = packed.to(torch::kCPU).contiguous();
  const uint8_t* byte = bytes.data_ptr<uint8_t>();
  q.codes = torch::empty({count}, torch::kInt8);
  int8_t* code = q.codes.data_ptr<int8_t>();
  int qmax = quantization_qmax(bits);
  for (int64_t i = 0; i < count; ++i) {
    code[i] = bits == 8 ? static_cast<int8_t>(byte[i]) : static_cast<int8_t>(((byte[i / 2] >> (4 * (i % 2))) & 0xF) - 8);
    LMSHRINK_CHECK(code[i] >= -qmax, what, ": int", bits, " code ", static_cast<int>(code[i]), " at index ", i,
                   " is outside [-", qmax, ", ", qmax, "]");
  }
  LMSHRINK_CHECK(bits == 8 || count % 2 == 0 || (byte[count / 2] >> 4) == 8, what,
                 ": the padding nibble of an odd-length int4 tensor must be 8 (code 0)");
  return q;
}

}  // namespace lmshrink
