// Small helpers shared by the CPU inference kernels (packed_matrix.cpp, sparse_columns.cpp): bfloat16 -> float32,
// and on x86-64 the AVX2 loads and horizontal sum. Functions marked target("avx2,fma") run only after
// cpu_has_avx2_fma() (packed_matrix.h) said yes.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace lmshrink::simd {

inline float bf16_to_float(uint16_t bits) {
  uint32_t word = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &word, sizeof(value));
  return value;
}

// A stored weight as float32: float as is, uint16_t as bfloat16 bits.
template <typename Weight>
inline float to_float(Weight w) {
  if constexpr (std::is_same_v<Weight, float>) {
    return w;
  } else {
    return bf16_to_float(w);
  }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) inline float horizontal_sum(__m256 v) {
  __m128 low = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  __m128 pairs = _mm_add_ps(low, _mm_movehl_ps(low, low));
  return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehdup_ps(pairs)));
}

__attribute__((target("avx2,fma"))) inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
__attribute__((target("avx2,fma"))) inline __m256 load8(const uint16_t* p) {  // 8 bfloat16 -> 8 float32
  __m128i halves = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(halves), 16));
}

#endif

}  // namespace lmshrink::simd
