// The 3x3 Sobel gradient magnitude of edges(), shared by every backend.
#pragma once
#include <cmath>
#include <cstdint>

#include "../common/border.hpp"
#include "../common/saturate.hpp"

namespace fastaug::detail {

// saturate(sqrt(gx^2 + gy^2)) at (y, x) of a one-channel uint8 image, BORDER_REFLECT_101.
FASTAUG_HD uint8_t edge_pixel(const uint8_t* s, int64_t h, int64_t w, int64_t sh, int64_t sw, int64_t y, int64_t x) {
  int v[3][3];
  for (int i = 0; i < 3; ++i) {
    const int64_t yy = map_border(y + i - 1, h, Border::Reflect101);
    for (int j = 0; j < 3; ++j) v[i][j] = s[yy * sh + map_border(x + j - 1, w, Border::Reflect101) * sw];
  }
  const int gx = (v[0][2] - v[0][0]) + 2 * (v[1][2] - v[1][0]) + (v[2][2] - v[2][0]);
  const int gy = (v[2][0] - v[0][0]) + 2 * (v[2][1] - v[0][1]) + (v[2][2] - v[0][2]);
  return saturate_cast<uint8_t>(sqrtf(static_cast<float>(gx * gx + gy * gy)));
}

}  // namespace fastaug::detail
