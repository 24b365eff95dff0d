// Sampling a source image at a real-valued coordinate (pixel centres at integers, as OpenCV), with
// border extrapolation per tap: the maths shared by warp_affine and warp_perspective on every backend.
#pragma once
#include <cmath>
#include <cstdint>

#include "border.hpp"
#include "fastaug/types.hpp"
#include "hd.hpp"

namespace fastaug::detail {

// One source image of a batch.
template <class T>
struct SrcImage {
  const T* data;
  int64_t h, w, sh, sw, sc;
  FASTAUG_HD float at(int64_t y, int64_t x, int c) const { return static_cast<float>(data[y * sh + x * sw + c * sc]); }
};

// Keys' cubic convolution weights with A = -0.75 (OpenCV's interpolateCubic).
FASTAUG_HD void cubic_weights(float t, float w[4]) {
  const float A = -0.75f;
  w[0] = ((A * (t + 1.f) - 5.f * A) * (t + 1.f) + 8.f * A) * (t + 1.f) - 4.f * A;
  w[1] = ((A + 2.f) * t - (A + 3.f)) * t * t + 1.f;
  w[2] = ((A + 2.f) * (1.f - t) - (A + 3.f)) * (1.f - t) * (1.f - t) + 1.f;
  w[3] = 1.f - w[0] - w[1] - w[2];
}

// Clamps a coordinate so that its conversion to an integer cannot overflow; anything this far out is
// outside any image, and every border mode maps it the same as any other far-away point of its period.
FASTAUG_HD float clamp_coord(float v) {
  const float lim = 1073741824.f;  // 2^30
  return v < -lim ? -lim : (v > lim ? lim : v);
}

// Accumulates the K x K taps starting at (y0, x0) with weights wy, wx into out[C].
template <class T, int C, int K>
FASTAUG_HD void accumulate_taps(const SrcImage<T>& s, int64_t y0, int64_t x0, const float* wy, const float* wx,
                                Border border, const float* fill, float out[C]) {
  for (int c = 0; c < C; ++c) out[c] = 0.f;
  const bool inside = y0 >= 0 && x0 >= 0 && y0 + K <= s.h && x0 + K <= s.w;
  for (int i = 0; i < K; ++i) {
    int64_t yy = inside ? y0 + i : map_border(y0 + i, s.h, border);
    for (int j = 0; j < K; ++j) {
      int64_t xx = inside ? x0 + j : map_border(x0 + j, s.w, border);
      const float wgt = wy[i] * wx[j];
      if (yy < 0 || xx < 0) {
        for (int c = 0; c < C; ++c) out[c] += wgt * fill[c];
      } else {
        for (int c = 0; c < C; ++c) out[c] += wgt * s.at(yy, xx, c);
      }
    }
  }
}

// Samples s at (fy, fx) with interpolation I into out[C].
template <Interp I, class T, int C>
FASTAUG_HD void sample(const SrcImage<T>& s, float fy, float fx, Border border, const float* fill, float out[C]) {
  fy = clamp_coord(fy);
  fx = clamp_coord(fx);
  if constexpr (I == Interp::Nearest) {
    const float one = 1.f;
    accumulate_taps<T, C, 1>(s, static_cast<int64_t>(rintf(fy)), static_cast<int64_t>(rintf(fx)),
                             &one, &one, border, fill, out);
  } else if constexpr (I == Interp::Linear) {
    const float y0 = floorf(fy), x0 = floorf(fx);
    const float ty = fy - y0, tx = fx - x0;
    const float wy[2] = {1.f - ty, ty}, wx[2] = {1.f - tx, tx};
    accumulate_taps<T, C, 2>(s, static_cast<int64_t>(y0), static_cast<int64_t>(x0), wy, wx, border, fill, out);
  } else {
    const float y0 = floorf(fy), x0 = floorf(fx);
    float wy[4], wx[4];
    cubic_weights(fy - y0, wy);
    cubic_weights(fx - x0, wx);
    accumulate_taps<T, C, 4>(s, static_cast<int64_t>(y0) - 1, static_cast<int64_t>(x0) - 1, wy, wx, border, fill,
                             out);
  }
}

}  // namespace fastaug::detail
