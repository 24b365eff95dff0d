// Per-pixel maths of equalize, to_gray, threshold, invert and normalize, shared by every backend.
#pragma once
#include <cmath>
#include <cstdint>

#include "../common/hd.hpp"
#include "../common/saturate.hpp"
#include "fastaug/types.hpp"

namespace fastaug::detail {

// cv::equalizeHist's LUT from a 256-bin histogram of `total` pixels.
FASTAUG_HD void equalize_lut(const int32_t* hist, int32_t total, uint8_t* lut) {
  int i = 0;
  while (i < 255 && hist[i] == 0) ++i;
  if (hist[i] == total) {  // one grey level: OpenCV sets the whole image to it
    for (int j = 0; j < 256; ++j) lut[j] = static_cast<uint8_t>(i);
    return;
  }
  const float scale = 255.f / static_cast<float>(total - hist[i]);
  int32_t sum = 0;
  for (int j = 0; j <= i; ++j) lut[j] = 0;
  for (int j = i + 1; j < 256; ++j) {
    sum += hist[j];
    lut[j] = saturate_cast<uint8_t>(static_cast<float>(sum) * scale);
  }
}

// cv::cvtColor RGB2GRAY: uint8 in OpenCV 5's 15-bit fixed point (bit-exact; 4.x used 14 bits), float32 in float.
FASTAUG_HD uint8_t gray_pixel(uint8_t r, uint8_t g, uint8_t b) {
  return static_cast<uint8_t>((r * 9798 + g * 19235 + b * 3735 + (1 << 14)) >> 15);
}
FASTAUG_HD float gray_pixel(float r, float g, float b) { return r * 0.299f + g * 0.587f + b * 0.114f; }

// cv::threshold's result for a value v that is (above) or is not above the threshold; `cut` is the
// threshold as the value type (saturate_cast<T>(thresh): TRUNC's output).
template <class T>
FASTAUG_HD T threshold_select(T v, bool above, T cut, T maxval, ThresholdMode mode) {
  switch (mode) {
    case ThresholdMode::Binary:
      return above ? maxval : T(0);
    case ThresholdMode::BinaryInv:
      return above ? T(0) : maxval;
    case ThresholdMode::Trunc:  // uint8: a thresh below 0 truncates to 0, as OpenCV
      return above ? cut : v;
    case ThresholdMode::ToZero:
      return above ? v : T(0);
    case ThresholdMode::ToZeroInv:
      return above ? T(0) : v;
  }
  return v;
}

// cv::threshold on one value; for uint8, thresh is already floored and maxval rounded (as OpenCV).
template <class T>
FASTAUG_HD T threshold_pixel(T v, float thresh, T maxval, ThresholdMode mode) {
  return threshold_select<T>(v, static_cast<float>(v) > thresh, saturate_cast<T>(thresh), maxval, mode);
}

FASTAUG_HD uint8_t invert_pixel(uint8_t v) { return static_cast<uint8_t>(255 - v); }
FASTAUG_HD float invert_pixel(float v) { return 1.f - v; }

// (v * scale - mean) / std, as v * a + b with a = scale / std and b = -mean / std precomputed per channel.
FASTAUG_HD float normalize_pixel(float v, float a, float b) { return v * a + b; }

}  // namespace fastaug::detail
