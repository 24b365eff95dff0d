// resize as a separable weighted sum: each output row / column reads `taps` source rows / columns with
// host-computed indices and weights (OpenCV's tables for each interpolation). Shared by every backend.
#pragma once
#include <cstdint>

#include "../common/hd.hpp"
#include "../common/saturate.hpp"

namespace fastaug::detail {

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
