// resize as a separable weighted sum: output row y (column x) reads `taps` source rows (columns) with
// OpenCV's indices and weights for each interpolation (cv::resize's tables). The table maths is one
// function, axis_taps(), which the CPU calls once per axis to fill tables and a CUDA kernel per pixel.
#pragma once
#include <cmath>
#include <cstdint>

#include "../common/hd.hpp"
#include "../common/interp.hpp"
#include "../common/saturate.hpp"
#include "fastaug/types.hpp"

namespace fastaug::detail {

FASTAUG_HD int64_t clamp_index(int64_t v, int64_t n) { return v < 0 ? 0 : (v >= n ? n - 1 : v); }

// Taps per output index on an axis src_len -> dst_len. `area_down` selects OpenCV's exact area
// weights (used when both axes shrink); INTER_AREA on an enlarged axis uses OpenCV's bilinear variant.
FASTAUG_HD int axis_tap_count(int64_t src_len, int64_t dst_len, Interp interp, bool area_down) {
  if (interp == Interp::Nearest) return 1;
  if (interp == Interp::Cubic) return 4;
  if (interp == Interp::Area && area_down)
    return static_cast<int>(ceil(static_cast<double>(src_len) / static_cast<double>(dst_len))) + 1;
  return 2;
}

// Calls visit(index, weight) for each of the axis_tap_count() taps of output index d, in order; the
// index is clamped into [0, src_len). Returns the number of taps visited (area pads with zero weights).
template <class Visit>
FASTAUG_HD int axis_taps(int64_t d, int64_t src_len, int64_t dst_len, Interp interp, bool area_down, Visit&& visit) {
  const double scale = static_cast<double>(src_len) / static_cast<double>(dst_len);
  auto add = [&](int64_t i, double w) { visit(clamp_index(i, src_len), static_cast<float>(w)); };
  if (interp == Interp::Nearest) {
    add(static_cast<int64_t>(floor(d * scale)), 1.0);
    return 1;
  }
  if (interp == Interp::Cubic) {
    const double f = (d + 0.5) * scale - 0.5;
    const int64_t s = static_cast<int64_t>(floor(f));
    float w[4];
    cubic_weights(static_cast<float>(f - s), w);
    for (int k = 0; k < 4; ++k) add(s - 1 + k, w[k]);
    return 4;
  }
  if (interp == Interp::Area && area_down) {
    // cv::computeResizeAreaTab: each output cell averages the source cells it covers, by coverage.
    const int taps = axis_tap_count(src_len, dst_len, interp, area_down);
    const double f1 = d * scale, f2 = f1 + scale;
    const double cell = scale < src_len - f1 ? scale : src_len - f1;
    int64_t s1 = static_cast<int64_t>(ceil(f1)), s2 = static_cast<int64_t>(floor(f2));
    s2 = s2 < src_len - 1 ? s2 : src_len - 1;
    s1 = s1 < s2 ? s1 : s2;
    int used = 0;
    if (s1 - f1 > 1e-3) add(s1 - 1, (s1 - f1) / cell), ++used;
    for (int64_t s = s1; s < s2; ++s) add(s, 1.0 / cell), ++used;
    if (f2 - s2 > 1e-3) {
      const double part = f2 - s2 < 1.0 ? f2 - s2 : 1.0;
      add(s2, (part < cell ? part : cell) / cell), ++used;
    }
    for (; used < taps; ++used) add(s1, 0.0);
    return used;
  }
  // linear, or area when enlarging
  int64_t s;
  double f;
  if (interp == Interp::Area) {
    s = static_cast<int64_t>(floor(d * scale));
    f = (d + 1) - (s + 1) / scale;
    f = f <= 0 ? 0.0 : f - floor(f);
  } else {
    const double c = (d + 0.5) * scale - 0.5;
    s = static_cast<int64_t>(floor(c));
    f = c - s;
  }
  if (s < 0) s = 0, f = 0;
  if (s >= src_len - 1) s = src_len - 1, f = 0;
  add(s, 1.0 - f);
  add(s + 1, f);
  return 2;
}

struct AxisTaps {
  const int64_t* index;  // [dst_len * taps], already clamped into [0, src_len)
  const float* weight;   // [dst_len * taps]
  int taps;
};

template <class T, int C>
FASTAUG_HD void resize_pixel(const T* src, int64_t sh, int64_t sw, int64_t sc, const AxisTaps& ty,
                             const AxisTaps& tx, int64_t y, int64_t x, T* out, int64_t out_sc) {
  float acc[C] = {};
  for (int i = 0; i < ty.taps; ++i) {
    const float wy = ty.weight[y * ty.taps + i];
    const T* row = src + ty.index[y * ty.taps + i] * sh;
    for (int j = 0; j < tx.taps; ++j) {
      const float w = wy * tx.weight[x * tx.taps + j];
      const T* p = row + tx.index[x * tx.taps + j] * sw;
      for (int c = 0; c < C; ++c) acc[c] += w * static_cast<float>(p[c * sc]);
    }
  }
  for (int c = 0; c < C; ++c) out[c * out_sc] = saturate_cast<T>(acc[c]);
}

}  // namespace fastaug::detail
