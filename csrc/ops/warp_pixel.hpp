// The per-pixel maths of warp_affine and warp_perspective, shared by every backend.
#pragma once
#include "../common/interp.hpp"
#include "../common/saturate.hpp"

namespace fastaug::detail {

// m is the inverse map (dst -> src), 9 floats row-major; for affine maps the last row is (0, 0, 1).
template <Interp I, bool Perspective, class T, int C, bool Dense>
FASTAUG_HD void warp_pixel(const SrcImage<T, C, Dense>& s, const float* m, int64_t x, int64_t y, Border border,
                           const float* fill, T* out, int64_t out_sc) {
  const float fx = static_cast<float>(x), fy = static_cast<float>(y);
  float sx = m[0] * fx + m[1] * fy + m[2];
  float sy = m[3] * fx + m[4] * fy + m[5];
  if constexpr (Perspective) {
    float wz = m[6] * fx + m[7] * fy + m[8];
    wz = wz != 0.f ? 1.f / wz : 0.f;  // as OpenCV: a point at infinity samples (0, 0)
    sx *= wz;
    sy *= wz;
  }
  float acc[C];
  sample<I, T, C, Dense>(s, sy, sx, border, fill, acc);
  for (int c = 0; c < C; ++c) out[c * out_sc] = saturate_cast<T>(acc[c]);
}

}  // namespace fastaug::detail
