// Group-wise symmetric round-to-nearest (RTN) quantization of factor tensors to int8 or int4, the post-training
// quantization COMPOT composes with (ALGORITHMS.md). The row-major flattened tensor is cut into groups of group_size
// consecutive values; each group stores one float16 scale, the smallest float16 >= max|x| / qmax (rounded up, never
// to nearest), so no code ever clamps and |x - dequantize(x)| <= scale / 2 holds for every value. Codes are
// round(x / scale), rounding half away from zero (std::round). Storage: packed codes (int4: two per byte) + 2 bytes
// per group.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lmshrink {

// Group-wise symmetric round-to-nearest quantization: the row-major flattened tensor is cut into groups of
// group_size consecutive values (the last group may be shorter); each group has one float16 scale.
struct QuantizedTensor {
  int bits = 0;                // 8 or 4
  int64_t group_size = 0;      // > 0
  std::vector<int64_t> shape;  // shape of the original tensor
  at::Tensor codes;            // int8 (kChar) 1-D [numel], each in [-qmax, qmax], qmax = 2^(bits-1) - 1 (127 or 7)
  at::Tensor scales;           // float16 (kHalf) 1-D [ceil(numel / group_size)]
  int64_t numel() const;       // product of shape
  at::Tensor dequantize() const;  // float32, `shape`: codes * float(scale of its group)
  // uint8 (kByte) 1-D: bits 8 -> the int8 codes' bytes; bits 4 -> two codes per byte, (code + 8) in the low nibble
  // for the even index, high nibble for the odd; an odd numel pads the last high nibble with 8 (code 0).
  at::Tensor packed() const;
  int64_t storage_bytes() const;  // packed().numel() + 2 * scales.numel()
};

int quantization_qmax(int bits);  // 127 for 8 bits, 7 for 4 bits; throws lmshrink::Error for other bits

// x: any floating tensor (finite; throws otherwise), quantized in float32 arithmetic on the CPU. Throws when
// group_size <= 0, bits is not 8 or 4, or a group's max|x| / qmax exceeds the float16 range (65504).
QuantizedTensor quantize_rtn(const at::Tensor& x, int bits, int64_t group_size);

// Inverse of packed(): validates the packed size, the scales' dtype, size and values (finite, >= 0), every code
// within [-qmax, qmax] (int8: -128 is invalid; int4: nibble 0 is invalid) and the int4 padding nibble, and throws
// lmshrink::Error naming `what` on any mismatch.
QuantizedTensor unpack_quantized(const at::Tensor& packed, const at::Tensor& scales, int bits, int64_t group_size,
                                 const std::vector<int64_t>& shape, const std::string& what);

}  // namespace lmshrink
