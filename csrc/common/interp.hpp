// Sampling a source image at a real-valued coordinate (pixel centres at integers, as OpenCV), with
// border extrapolation per tap: the maths shared by warp_affine and warp_perspective on every backend.
#pragma once
#include <cmath>
#include <cstdint>

#include "border.hpp"
#include "fastaug/types.hpp"
#include "hd.hpp"

namespace fastaug::detail {

// One source image of a batch. Dense = channels-last rows (sw == C, sc == 1): the strides become
// compile-time constants, which is most of the speed of the interior path.
template <class T, int C = 1, bool Dense = false>
struct SrcImage {
  const T* data;
  int64_t h, w, sh, sw, sc;
  FASTAUG_HD int64_t xs() const { return Dense ? C : sw; }
  FASTAUG_HD int64_t cs() const { return Dense ? 1 : sc; }
  FASTAUG_HD float at(int64_t y, int64_t x, int c) const {
    return static_cast<float>(data[y * sh + x * xs() + c * cs()]);
  }
};

// Keys' cubic convolution weights with A = -0.75 (OpenCV's interpolateCubic).
FASTAUG_HD void cubic_weights(float t, float w[4]) {
  const float A = -0.75f;
  w[0] = ((A * (t + 1.f) - 5.f * A) * (t + 1.f) + 8.f * A) * (t + 1.f) - 4.f * A;
  w[1] = ((A + 2.f) * t - (A + 3.f)) * t * t + 1.f;
  w[2] = ((A + 2.f) * (1.f - t) - (A + 3.f)) * (1.f - t) * (1.f - t) + 1.f;
  w[3] = 1.f - w[0] - w[1] - w[2];
}

// Clamps a coordinate to +-2^22: there the integer conversions and the round-half-even trick are exact.
// A float32 this large has no fractional bits left, so which pixel of a periodic border it meant is
// already lost; every backend clamps the same way.
FASTAUG_HD float clamp_coord(float v) {
  const float lim = 4194304.f;  // 2^22
  return v < -lim ? -lim : (v > lim ? lim : v);
}

// floor() of a clamped coordinate (|v| <= 2^22) as an integer; floorf is a libm call on baseline x86-64.
FASTAUG_HD int fast_floor(float v) {
  const int i = static_cast<int>(v);
  return i > v ? i - 1 : i;
}

// Accumulates the K x K taps starting at (y0, x0) with weights wy, wx into out[C], in the order
// out += (wy[i] * wx[j]) * v over i, then j (every backend and path keeps this order: same bits).
template <class T, int C, int K, bool Dense>
FASTAUG_HD void accumulate_taps(const SrcImage<T, C, Dense>& s, int64_t y0, int64_t x0, const float* wy,
                                const float* wx, Border border, const float* fill, float out[C]) {
  for (int c = 0; c < C; ++c) out[c] = 0.f;
  if (y0 >= 0 && x0 >= 0 && y0 + K <= s.h && x0 + K <= s.w) {  // interior: no border lookups
    const T* p = s.data + y0 * s.sh + x0 * s.xs();
    for (int i = 0; i < K; ++i, p += s.sh)
      for (int j = 0; j < K; ++j) {
        const float wgt = wy[i] * wx[j];
        for (int c = 0; c < C; ++c) out[c] += wgt * static_cast<float>(p[j * s.xs() + c * s.cs()]);
      }
    return;
  }
  if (border == Border::Constant && (y0 + K <= 0 || x0 + K <= 0 || y0 >= s.h || x0 >= s.w)) {
    for (int i = 0; i < K; ++i)  // every tap is fill: the same sums without the border lookups
      for (int j = 0; j < K; ++j) {
        const float wgt = wy[i] * wx[j];
        for (int c = 0; c < C; ++c) out[c] += wgt * fill[c];
      }
    return;
  }
  for (int i = 0; i < K; ++i) {
    const int64_t yy = map_border(y0 + i, s.h, border);
    for (int j = 0; j < K; ++j) {
      const int64_t xx = map_border(x0 + j, s.w, border);
      const float wgt = wy[i] * wx[j];
      if (yy < 0 || xx < 0) {
        for (int c = 0; c < C; ++c) out[c] += wgt * fill[c];
      } else {
        for (int c = 0; c < C; ++c) out[c] += wgt * s.at(yy, xx, c);
      }
    }
  }
}

// The K x K window of source taps that interpolation I reads at (fy, fx): its first tap (y0, x0) and the
// weights of its rows (wy) and columns (wx), from the clamped coordinates. The one place these are computed:
// the forward sampler and the warps' backward (warp_backward_pixel) both take them from here.
template <Interp I>
struct Window {
  static constexpr int K = I == Interp::Nearest ? 1 : (I == Interp::Linear ? 2 : 4);
  int y0, x0;
  float wy[K], wx[K];
};

// The window of coordinates already clamped (clamp_coord; |fy|, |fx| <= 2^22, where clamping changes nothing).
template <Interp I>
FASTAUG_HD Window<I> window_clamped(float fy, float fx) {
  Window<I> win;
  if constexpr (I == Interp::Nearest) {
    const float magic = 12582912.f;  // nearest rounds half to even, as cvRound
    win.y0 = static_cast<int>((fy + magic) - magic);
    win.x0 = static_cast<int>((fx + magic) - magic);
    win.wy[0] = win.wx[0] = 1.f;
  } else if constexpr (I == Interp::Linear) {
    win.y0 = fast_floor(fy);
    win.x0 = fast_floor(fx);
    const float ty = fy - static_cast<float>(win.y0), tx = fx - static_cast<float>(win.x0);
    win.wy[0] = 1.f - ty, win.wy[1] = ty;
    win.wx[0] = 1.f - tx, win.wx[1] = tx;
  } else {
    const int y0 = fast_floor(fy), x0 = fast_floor(fx);
    cubic_weights(fy - static_cast<float>(y0), win.wy);
    cubic_weights(fx - static_cast<float>(x0), win.wx);
    win.y0 = y0 - 1;
    win.x0 = x0 - 1;
  }
  return win;
}

template <Interp I>
FASTAUG_HD Window<I> window(float fy, float fx) {
  return window_clamped<I>(clamp_coord(fy), clamp_coord(fx));
}

// Samples s at (fy, fx) with interpolation I into out[C].
template <Interp I, class T, int C, bool Dense>
FASTAUG_HD void sample(const SrcImage<T, C, Dense>& s, float fy, float fx, Border border, const float* fill,
                       float out[C]) {
  const Window<I> win = window<I>(fy, fx);
  accumulate_taps<T, C, Window<I>::K, Dense>(s, win.y0, win.x0, win.wy, win.wx, border, fill, out);
}

}  // namespace fastaug::detail
