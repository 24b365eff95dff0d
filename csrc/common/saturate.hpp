// Conversion of float results to the output dtype. uint8: round to nearest, ties to even (as cvRound
// under the default FPU mode), then saturate to [0, 255].
#pragma once
#include <cmath>
#include <cstdint>

#include "hd.hpp"

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

}  // namespace fastaug::detail
