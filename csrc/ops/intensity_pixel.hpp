// Per-pixel maths of equalize, to_gray, threshold, invert, normalize, lut, color_transform, channel_mean and
// hue_shift, shared by every backend.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

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

// One sample's table of lut: 256 entries per channel.
FASTAUG_HD uint8_t lut_pixel(const uint8_t* table, int c, uint8_t v) { return table[c * 256 + v]; }

// a * b + c rounded once, on every backend (the float formulas of color_transform are OpenCV's as its x86
// build compiles them: with FMA contraction).
FASTAUG_HD float fma32(float a, float b, float c) {
#ifdef __CUDA_ARCH__
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

// How cv::transform computes a sample (see color_transform in ops.hpp): the per-channel scale and offset of a
// diagonal matrix, OpenCV's 10-bit fixed point (uint8, 3 channels, small coefficients) or the float chain.
enum class ColorKind : int32_t { Diag = 0, Fixed = 1, Full = 2 };

// One sample's matrix as the kernels take it, prepared on the host (color_matrix in intensity.cpp).
struct ColorMatrix {
  float m[4][5];    // row c: the C coefficients, then the offset at [C]
  int32_t q[3][4];  // Fixed: round(m * 1024) (the first two saturated to int16), q[c][3] with the rounding 512
  int32_t kind;     // ColorKind
};

// Output channel c of color_transform from the pixel's C values v.
template <ColorKind K, int C, class T>
FASTAUG_HD T color_channel(const ColorMatrix& cm, const T* v, int c) {
  const float* m = cm.m[c];
  if constexpr (K == ColorKind::Fixed && C == 3 && std::is_same_v<T, uint8_t>) {
    // int32 arithmetic that wraps as OpenCV's vector code does (unsigned here: signed overflow is undefined)
    const uint32_t s = static_cast<uint32_t>(cm.q[c][0]) * v[0] + static_cast<uint32_t>(cm.q[c][1]) * v[1] +
                       static_cast<uint32_t>(cm.q[c][2]) * v[2] + static_cast<uint32_t>(cm.q[c][3]);
    const int32_t r = static_cast<int32_t>(s) >> 10;
    return static_cast<T>(r < 0 ? 0 : (r > 255 ? 255 : r));
  } else if constexpr (K == ColorKind::Diag || C == 1) {
    return saturate_cast<T>(fma32(m[c], static_cast<float>(v[c]), m[C]));
  } else {
    float acc = fma32(m[0], static_cast<float>(v[0]), m[1] * static_cast<float>(v[1]));
    for (int k = 2; k < C; ++k) acc = fma32(m[k], static_cast<float>(v[k]), acc);
    return saturate_cast<T>(acc + m[C]);
  }
}

// channel_mean's order of summation, the same on every backend so that float32 means are the same bits: the
// pixels of a row go round-robin into L lanes per channel (pixel x into lane x % L), then each channel's lanes
// are added in lane order into sums[c]. Acc is the lanes' type, Sum the row sums'. uint8 (exact in any order)
// takes kMeanLanesU8 uint32_t lanes (at most 255 * W / L each), float32 kMeanLanesF32 double lanes.
constexpr int kMeanLanesU8 = 16, kMeanLanesF32 = 8;

template <class T, int C, int L, class Acc, class Sum>
FASTAUG_HD void mean_row(const T* row, int64_t w, int64_t sw, int64_t sc, Sum* sums) {
  Acc lanes[L * C] = {};
  int64_t x = 0;
  for (; x + L <= w; x += L)
    for (int l = 0; l < L; ++l)
      for (int c = 0; c < C; ++c) lanes[l * C + c] += static_cast<Acc>(row[(x + l) * sw + c * sc]);
  for (int l = 0; l < L && x + l < w; ++l)
    for (int c = 0; c < C; ++c) lanes[l * C + c] += static_cast<Acc>(row[(x + l) * sw + c * sc]);
  for (int c = 0; c < C; ++c) {
    Sum s = static_cast<Sum>(lanes[c]);
    for (int l = 1; l < L; ++l) s += static_cast<Sum>(lanes[l * C + c]);
    sums[c] = s;
  }
}

// hue_shift: torchvision's adjust_hue (transforms.v2.functional, 0.29) on one RGB pixel, in its float32
// operations and their order. _rgb_to_hsv: the channels' max and min; s = (max - min) / max; the hue from the
// channel that holds the max (r first, then g), with true divisions by (max - min) (1 for a grey, where the
// result is unused); h = fmod(h * (1 / 6) + 1, 1). Then h + hue, as torch.remainder(., 1). _hsv_to_rgb:
// i = floor(6h) mod 6, f = 6h - i, p = (1 - s) v, q = (1 - s f) v, t = (s f + (1 - s)) v (p, q, t clamped to
// [0, 1]), and the (v, p, q, t) pick of sector i. Each fmod is written as the exact subtraction it amounts to
// on its range ([5/6, 11/6) and [-1/2, 3/2)): the same bits without a library call.
constexpr float kHueSixth = static_cast<float>(1.0 / 6.0);  // torch multiplies by the float32 of Python's 1/6

FASTAUG_HD void hue_rgb(float r, float g, float b, float hue, float& ro, float& go, float& bo) {
  const float mx = (r > g ? r : g) > b ? (r > g ? r : g) : b;
  const float mn = (r < g ? r : g) < b ? (r < g ? r : g) : b;
  const bool grey = mx == mn;
  const float range = mx - mn;
  const float s = range / (grey ? 1.f : mx);
  const float div = grey ? 1.f : range;
  const float rc = (mx - r) / div, gc = (mx - g) / div, bc = (mx - b) / div;
  float h = mx == r ? bc - gc : (mx == g ? (rc + 2.f) - bc : (gc + 4.f) - rc);
  h = h * kHueSixth + 1.f;
  h = h >= 1.f ? h - 1.f : h;  // fmod(h, 1) of h in [5/6, 11/6)
  h = h + hue;
  h = h < 0.f ? h + 1.f : (h >= 1.f ? h - 1.f : h);  // torch.remainder(h, 1) of h in [-1/2, 3/2)
  const float h6 = h * 6.f;
  const float fi = floorf(h6);
  const float f = h6 - fi;
  int i = static_cast<int>(fi);
  i = i >= 6 ? i - 6 : i;  // h may round to 1: sector 6 is sector 0
  const float sf = s * f, one_s = 1.f - s;
  const auto unit = [](float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); };
  const float v = mx, p = unit(one_s * v), q = unit((1.f - sf) * v), t = unit((sf + one_s) * v);
  // torchvision's (v, p, q, t) pick per sector: r = v q p p t v, g = t v v q p p, b = p p t v v q
  ro = (i == 0 || i == 5) ? v : (i == 1 ? q : (i == 4 ? t : p));
  go = (i == 1 || i == 2) ? v : (i == 0 ? t : (i == 3 ? q : p));
  bo = (i == 3 || i == 4) ? v : (i == 2 ? t : (i == 5 ? q : p));
}

// torchvision's to_dtype(scale=True) around adjust_hue: uint8 -> float32 as x * float32(1 / 255), float32 ->
// uint8 as trunc(x * float32(255 + 1 - 1e-3)) (its values lie in [0, 1] there); float32 images as they are.
FASTAUG_HD float hue_load(uint8_t v) { return static_cast<float>(v) * static_cast<float>(1.0 / 255.0); }
FASTAUG_HD float hue_load(float v) { return v; }
template <class T>
FASTAUG_HD T hue_store(float v) {
  if constexpr (std::is_same_v<T, uint8_t>)
    return static_cast<uint8_t>(static_cast<int>(v * static_cast<float>(255.0 + 1.0 - 1e-3)));
  else
    return v;
}

// One pixel of hue_shift at p (channel stride sc) into out (osc): RGB through hue_rgb, alpha copied; one
// channel is copied (torchvision returns a grey image as it is).
template <class T, int C>
FASTAUG_HD void hue_pixel(const T* p, int64_t sc, T* out, int64_t osc, float hue) {
  if constexpr (C == 1) {
    out[0] = p[0];
    return;
  }
  float r, g, b;
  hue_rgb(hue_load(p[0]), hue_load(p[sc]), hue_load(p[2 * sc]), hue, r, g, b);
  out[0] = hue_store<T>(r), out[osc] = hue_store<T>(g), out[2 * osc] = hue_store<T>(b);
  if constexpr (C == 4) out[3 * osc] = p[3 * sc];
}

}  // namespace fastaug::detail
