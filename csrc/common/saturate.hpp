// Conversion of float results to the output dtype. uint8: round to nearest, ties to even (as cvRound
// under the default FPU mode), then saturate to [0, 255].
#pragma once
#include <cmath>
#include <cstdint>

#include "hd.hpp"

namespace fastaug::detail {

template <class T>
FASTAUG_HD T saturate_cast(float v);

template <>
FASTAUG_HD uint8_t saturate_cast<uint8_t>(float v) {
  float r = rintf(v);
  r = r < 0.f ? 0.f : (r > 255.f ? 255.f : r);
  return static_cast<uint8_t>(r);  // NaN compares false both ways and becomes 0 here
}

template <>
FASTAUG_HD float saturate_cast<float>(float v) {
  return v;
}

}  // namespace fastaug::detail
