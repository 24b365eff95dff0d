// The maths of resize, shared by every backend: cv::resize's per-axis taps (axis_taps(), which the CPU
// calls once per axis to fill tables and a CUDA kernel once per block), the method cv::resize picks for a
// case (resize_method()), and each method's per-pixel formula. The CPU runs the same formulas as two
// passes (every source row's horizontal sums once, then the vertical sums), which gives the same bits:
// each output is the same operations in the same order.
#pragma once
#include <cmath>
#include <cstdint>

#include "../common/hd.hpp"
#include "../common/interp.hpp"
#include "../common/saturate.hpp"
#include "fastaug/types.hpp"

namespace fastaug::detail {

FASTAUG_HD int64_t clamp_index(int64_t v, int64_t n) { return v < 0 ? 0 : (v >= n ? n - 1 : v); }

// Source coordinates per destination pixel, as cv::resize computes them: 1 / (dst / src) in double.
FASTAUG_HD double resize_scale(int64_t src_len, int64_t dst_len) {
  return 1.0 / (static_cast<double>(dst_len) / static_cast<double>(src_len));
}

// How cv::resize computes a case: separable float sums (sum over rows of weight * (sum over columns of
// weight * value), OpenCV's order), fixed-point linear (uint8 linear, and uint8 area on an enlarged axis:
// 11-bit weights, OpenCV's integer rounding), or the integer-factor area average (area with integer
// factors on both axes: OpenCV's ResizeAreaFast).
enum class ResizeKind : int { Separable = 0, FixedLinear = 1, AreaFast = 2 };

struct ResizeMethod {
  Interp interp;
  bool area_down;  // area with both axes shrinking: coverage weights (cv::computeResizeAreaTab)
  ResizeKind kind;
  int64_t fy = 1, fx = 1;  // AreaFast: the integer factors
};

// An integer factor where cv::resize sees one: 1 / (dst / src) within DBL_EPSILON of an integer.
FASTAUG_HD int64_t integer_factor(int64_t src_len, int64_t dst_len) {
  const double scale = resize_scale(src_len, dst_len);
  const int64_t i = static_cast<int64_t>(floor(scale + 0.5));
  return fabs(scale - static_cast<double>(i)) < 2.220446049250313e-16 ? i : 0;
}

FASTAUG_HD ResizeMethod resize_method(int64_t src_h, int64_t src_w, int64_t dst_h, int64_t dst_w, Interp interp,
                                      bool uint8) {
  const bool area_down = interp == Interp::Area && src_h >= dst_h && src_w >= dst_w;
  ResizeMethod m{interp, area_down, ResizeKind::Separable};
  if (area_down) {
    const int64_t fy = integer_factor(src_h, dst_h), fx = integer_factor(src_w, dst_w);
    if (fy > 0 && fx > 0) m.kind = ResizeKind::AreaFast, m.fy = fy, m.fx = fx;
  } else if (uint8 && (interp == Interp::Linear || interp == Interp::Area)) {
    m.kind = ResizeKind::FixedLinear;
  }
  return m;
}

// Taps per output index on an axis src_len -> dst_len.
FASTAUG_HD int axis_tap_count(int64_t src_len, int64_t dst_len, Interp interp, bool area_down) {
  if (interp == Interp::Nearest) return 1;
  if (interp == Interp::Cubic) return 4;
  if (interp == Interp::Area && area_down)
    return static_cast<int>(ceil(static_cast<double>(src_len) / static_cast<double>(dst_len))) + 1;
  return 2;
}

// Calls visit(index, weight) for each of the axis_tap_count() taps of output index d of one axis
// (`columns`: the x axis), in order; the index is clamped into [0, src_len). Returns the number of taps
// visited (area pads with zero weights).
template <class Visit>
FASTAUG_HD int axis_taps(int64_t d, int64_t src_len, int64_t dst_len, const ResizeMethod& m, bool columns,
                         Visit&& visit) {
  const double scale = resize_scale(src_len, dst_len);
  auto add = [&](int64_t i, float w) { visit(clamp_index(i, src_len), w); };
  if (m.interp == Interp::Nearest) {
    add(static_cast<int64_t>(floor(d * scale)), 1.f);
    return 1;
  }
  if (m.interp == Interp::Cubic) {
    const double f = (d + 0.5) * scale - 0.5;
    const int64_t s = static_cast<int64_t>(floor(f));
    float w[4];
    cubic_weights(static_cast<float>(f - static_cast<double>(s)), w);
    for (int k = 0; k < 4; ++k) add(s - 1 + k, w[k]);
    return 4;
  }
  if (m.area_down) {
    // cv::computeResizeAreaTab: each output cell averages the source cells it covers, by coverage.
    const int taps = axis_tap_count(src_len, dst_len, m.interp, true);
    const double f1 = d * scale, f2 = f1 + scale;
    const double cell = scale < src_len - f1 ? scale : src_len - f1;
    int64_t s1 = static_cast<int64_t>(ceil(f1)), s2 = static_cast<int64_t>(floor(f2));
    s2 = s2 < src_len - 1 ? s2 : src_len - 1;
    s1 = s1 < s2 ? s1 : s2;
    int used = 0;
    if (s1 - f1 > 1e-3) add(s1 - 1, static_cast<float>((s1 - f1) / cell)), ++used;
    for (int64_t s = s1; s < s2; ++s) add(s, static_cast<float>(1.0 / cell)), ++used;
    if (f2 - s2 > 1e-3) {
      const double part = f2 - s2 < 1.0 ? f2 - s2 : 1.0;
      add(s2, static_cast<float>((part < cell ? part : cell) / cell)), ++used;
    }
    for (; used < taps; ++used) add(s1, 0.f);
    return used;
  }
  // Linear, or area on an enlarged axis (OpenCV's variant of the fraction). The fixed-point path takes
  // the fraction in float, as cv::resize does; the float path in double (what cv2 5 gives for float
  // images, measured). Only columns pin the taps at the edges; rows keep their weights and clamp the row
  // indices (cv::resize's tables treat the axes so).
  int64_t s;
  double f;
  const double inv_scale = static_cast<double>(dst_len) / static_cast<double>(src_len);
  if (m.kind == ResizeKind::FixedLinear) {
    float ff;
    if (m.interp == Interp::Area) {
      s = static_cast<int64_t>(floor(d * scale));
      ff = static_cast<float>((d + 1) - (s + 1) * inv_scale);
      ff = ff <= 0.f ? 0.f : ff - floorf(ff);
    } else {
      ff = static_cast<float>((d + 0.5) * scale - 0.5);
      s = static_cast<int64_t>(floorf(ff));
      ff -= static_cast<float>(s);
    }
    f = ff;
  } else if (m.interp == Interp::Area) {
    s = static_cast<int64_t>(floor(d * scale));
    f = (d + 1) - (s + 1) * inv_scale;
    f = f <= 0 ? 0.0 : f - floor(f);
  } else {
    f = (d + 0.5) * scale - 0.5;
    s = static_cast<int64_t>(floor(f));
    f -= static_cast<double>(s);
  }
  if (columns && s < 0) s = 0, f = 0;
  if (columns && s >= src_len - 1) s = src_len - 1, f = 0;
  add(s, m.kind == ResizeKind::FixedLinear ? 1.f - static_cast<float>(f) : static_cast<float>(1.0 - f));
  add(s + 1, static_cast<float>(f));
  return 2;
}

// A weight as OpenCV's fixed-point linear resize holds it: saturate_cast<short>(w * 2048).
FASTAUG_HD int32_t resize_q11(float w) {
  const float v = rintf(w * 2048.f);
  return static_cast<int32_t>(v < -32768.f ? -32768.f : (v > 32767.f ? 32767.f : v));
}

// Fixed-point linear: a row's horizontal sum (11 fraction bits) >> 4, which fits 16 bits (<= 32640),
// then two rows' combination as OpenCV's VResizeLinear for uint8 computes it: the high halves of 16-bit
// products, rounded at the end.
FASTAUG_HD int16_t resize_q_row(int32_t v0, int32_t v1, int32_t q0, int32_t q1) {
  return static_cast<int16_t>((v0 * q0 + v1 * q1) >> 4);
}
FASTAUG_HD uint8_t resize_q_out(int16_t r0, int16_t r1, int16_t b0, int16_t b1) {
  // every step fits 16 bits (the halves <= 1020), which lets the CPU loop run in 16-bit lanes
  const int16_t h0 = static_cast<int16_t>((b0 * r0) >> 16), h1 = static_cast<int16_t>((b1 * r1) >> 16);
  const int16_t v = static_cast<int16_t>((h0 + h1 + 2) >> 2);
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

struct AxisTaps {
  const int64_t* index;  // [dst_len * taps], already clamped into [0, src_len)
  const float* weight;   // [dst_len * taps]
  const int32_t* q;      // [dst_len * taps] resize_q11(weight), for FixedLinear
  int taps;
};

// One output pixel (y, x here index the tap tables, whatever rows or columns they describe).
template <class T, int C>
FASTAUG_HD void resize_separable_pixel(const T* src, int64_t sh, int64_t sw, int64_t sc, const AxisTaps& ty,
                                       const AxisTaps& tx, int64_t y, int64_t x, T* out, int64_t out_sc) {
  float acc[C] = {};
  for (int i = 0; i < ty.taps; ++i) {
    const T* row = src + ty.index[y * ty.taps + i] * sh;
    float part[C] = {};
    for (int j = 0; j < tx.taps; ++j) {
      const float w = tx.weight[x * tx.taps + j];
      const T* p = row + tx.index[x * tx.taps + j] * sw;
      for (int c = 0; c < C; ++c) part[c] += w * static_cast<float>(p[c * sc]);
    }
    const float wy = ty.weight[y * ty.taps + i];
    for (int c = 0; c < C; ++c) acc[c] += wy * part[c];
  }
  for (int c = 0; c < C; ++c) out[c * out_sc] = saturate_cast<T>(acc[c]);
}

template <int C>
FASTAUG_HD void resize_fixed_pixel(const uint8_t* src, int64_t sh, int64_t sw, int64_t sc, const AxisTaps& ty,
                                   const AxisTaps& tx, int64_t y, int64_t x, uint8_t* out, int64_t out_sc) {
  const uint8_t* r0 = src + ty.index[2 * y] * sh;
  const uint8_t* r1 = src + ty.index[2 * y + 1] * sh;
  const int64_t x0 = tx.index[2 * x] * sw, x1 = tx.index[2 * x + 1] * sw;
  const int32_t q0 = tx.q[2 * x], q1 = tx.q[2 * x + 1];
  for (int c = 0; c < C; ++c) {
    const int16_t h0 = resize_q_row(r0[x0 + c * sc], r0[x1 + c * sc], q0, q1);
    const int16_t h1 = resize_q_row(r1[x0 + c * sc], r1[x1 + c * sc], q0, q1);
    out[c * out_sc] = resize_q_out(h0, h1, static_cast<int16_t>(ty.q[2 * y]), static_cast<int16_t>(ty.q[2 * y + 1]));
  }
}

// The average of the fy x fx block of output pixel (y, x), as OpenCV's ResizeAreaFast: uint8 sums are
// exact integers, rounded half up for 2x2 (its SIMD path) and through float * (1 / area) otherwise;
// float sums run row by row.
template <class T, int C>
FASTAUG_HD void resize_area_fast_pixel(const T* src, int64_t sh, int64_t sw, int64_t sc, int64_t fy, int64_t fx,
                                       int64_t y, int64_t x, T* out, int64_t out_sc) {
  const float inv_area = 1.f / static_cast<float>(fy * fx);
  for (int c = 0; c < C; ++c) {
    const T* p = src + y * fy * sh + x * fx * sw + c * sc;
    if constexpr (sizeof(T) == 1) {
      int64_t sum = 0;
      for (int64_t i = 0; i < fy; ++i)
        for (int64_t j = 0; j < fx; ++j) sum += p[i * sh + j * sw];
      out[c * out_sc] =
          fy == 2 && fx == 2 ? static_cast<T>((sum + 2) >> 2) : saturate_cast<T>(static_cast<float>(sum) * inv_area);
    } else {
      float sum = 0.f;
      for (int64_t i = 0; i < fy; ++i)
        for (int64_t j = 0; j < fx; ++j) sum += static_cast<float>(p[i * sh + j * sw]);
      out[c * out_sc] = sum * inv_area;
    }
  }
}

}  // namespace fastaug::detail
