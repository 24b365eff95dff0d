// Conversion of float results to the output dtype. uint8: round to nearest, ties to even (as cvRound
// under the default FPU mode), then saturate to [0, 255]. float16 and bfloat16: round to nearest, ties to
// even, as NumPy's astype(float16) and torch's .to(float16 / bfloat16) (IEEE: a float16 overflow is inf).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "hd.hpp"
#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace fastaug::detail {

template <class T>
FASTAUG_HD T saturate_cast(float v);

// Clamp first (NaN -> 0), then round half to even by adding and subtracting 1.5 * 2^23: exact for
// |v| < 2^22 in the default rounding mode, and unlike rintf it vectorises on baseline SSE2.
template <>
FASTAUG_HD uint8_t saturate_cast<uint8_t>(float v) {
  v = v > 0.f ? v : 0.f;
  v = v < 255.f ? v : 255.f;
  const float magic = 12582912.f;
  return static_cast<uint8_t>(static_cast<int>((v + magic) - magic));
}

template <>
FASTAUG_HD float saturate_cast<float>(float v) {
  return v;
}

// saturate_cast<uint8_t> for a value already known to lie in [0, 255] up to rounding (a weighted mean of
// uint8 values with non-negative weights): the same rounding without the clamps, which cost the CPU loops
// two thirds of their instructions (the compiler turns them into masks and blends, not min/max).
FASTAUG_HD uint8_t round_mean_u8(float v) {
  const float magic = 12582912.f;
  return static_cast<uint8_t>(static_cast<int>((v + magic) - magic));
}

// The 16-bit float outputs, as their bit patterns (the kernels only store them).
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

FASTAUG_HD uint32_t float_bits(float v) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(v);
#else
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
#endif
}

// float -> IEEE binary16, round to nearest even (the same bits as F16C's vcvtps2ph, CUDA's __float2half_rn and
// NumPy; NaN -> a quiet NaN of the same sign), after F. Giesen's float_to_half_fast3_rtne. Written with
// selects rather than branches so that the CPU loops vectorise it.
FASTAUG_HD uint16_t half_bits(float v) {
#ifdef __CUDA_ARCH__
  return __half_as_ushort(__float2half_rn(v));
#else
  const uint32_t x = float_bits(v);
  const uint32_t sign = (x >> 16) & 0x8000u, a = x & 0x7FFFFFFFu;
  // |v| >= 2^-14: rebias the exponent and round the 13 dropped bits to even (a carry may reach inf: right)
  const uint32_t normal = (a - 0x38000000u + 0xFFFu + ((a >> 13) & 1u)) >> 13;
  // |v| < 2^-14: a subnormal in units of 2^-24, the ulp of 0.5f, so adding 0.5f rounds |v| to one (to even)
  const uint32_t subnormal = float_bits(std::fabs(v) + 0.5f) - 0x3F000000u;
  const uint32_t big = a > 0x7F800000u ? 0x7E00u : 0x7C00u;  // NaN, else inf (|v| >= 65520 rounds there too)
  return static_cast<uint16_t>(sign | (a >= 0x47800000u ? big : (a >= 0x38800000u ? normal : subnormal)));
#endif
}

// float -> bfloat16, round to nearest even (torch's c10::BFloat16 and CUDA's __float2bfloat16_rn; NaN -> a
// quiet NaN).
FASTAUG_HD uint16_t bfloat16_bits(float v) {
#ifdef __CUDA_ARCH__
  return __bfloat16_as_ushort(__float2bfloat16_rn(v));
#else
  const uint32_t x = float_bits(v);
  const uint32_t rounded = (x + 0x7FFFu + ((x >> 16) & 1u)) >> 16;
  return static_cast<uint16_t>((x & 0x7FFFFFFFu) > 0x7F800000u ? 0x7FC0u : rounded);
#endif
}

template <>
FASTAUG_HD Half saturate_cast<Half>(float v) {
  return Half{half_bits(v)};
}

template <>
FASTAUG_HD BFloat16 saturate_cast<BFloat16>(float v) {
  return BFloat16{bfloat16_bits(v)};
}

}  // namespace fastaug::detail
