// The per-pixel maths of warp_affine and warp_perspective and of their backward, shared by every backend.
#pragma once
#include "../common/interp.hpp"
#include "../common/saturate.hpp"

namespace fastaug::detail {

// Where dst pixel (x, y) samples the source, (sx, sy), and the perspective denominator w of the map (1 for an
// affine map). m is the inverse map (dst -> src), 9 floats row-major; for affine maps the last row is (0, 0, 1).
struct WarpCoord {
  float sx, sy, w;
};

template <bool Perspective>
FASTAUG_HD WarpCoord warp_coord_f(const float* m, float fx, float fy) {
  WarpCoord p{m[0] * fx + m[1] * fy + m[2], m[3] * fx + m[4] * fy + m[5], 1.f};
  if constexpr (Perspective) {
    p.w = m[6] * fx + m[7] * fy + m[8];
    const float r = p.w != 0.f ? 1.f / p.w : 0.f;  // as OpenCV: a point at infinity samples (0, 0)
    p.sx *= r;
    p.sy *= r;
  }
  return p;
}

// The same at the pixel (x, y) (its coordinates converted to float).
template <bool Perspective>
FASTAUG_HD WarpCoord warp_coord(const float* m, int64_t x, int64_t y) {
  return warp_coord_f<Perspective>(m, static_cast<float>(x), static_cast<float>(y));
}

template <Interp I, bool Perspective, class T, int C, bool Dense>
FASTAUG_HD void warp_pixel(const SrcImage<T, C, Dense>& s, const float* m, int64_t x, int64_t y, Border border,
                           const float* fill, T* out, int64_t out_sc) {
  const WarpCoord p = warp_coord<Perspective>(m, x, y);
  float acc[C];
  sample<I, T, C, Dense>(s, p.sy, p.sx, border, fill, acc);
  for (int c = 0; c < C; ++c) out[c * out_sc] = saturate_cast<T>(acc[c]);
}

// The gradient of a warp's source image: one H x W x C float32 image, element strides.
struct GradImage {
  float* data;
  int64_t sh, sw, sc;
};

// The backward of warp_pixel at dst pixel (x, y) of a float32 warp, for the output gradient g[C] of that pixel:
// - the image (gi.data not null): the exact adjoint of the forward's linear map in the source for the same
//   coordinates, window and weights (window<I>): each tap's weight times g is added, through add(pointer, value)
//   (a plain += on the CPU, atomicAdd on CUDA), to the source pixel the tap reads after border mapping; a tap
//   that reads the constant border's fill takes nothing.
// - the matrix (s not null; Interp::Linear only, nearest sampling is piecewise constant): dL/dm for this pixel,
//   added to dm[9] in double (each pixel's terms in float). out_c = sample_c(sx, sy), (sx, sy) = projection of m . (x,
//   y, 1); dL/dsx is sum_c g_c * d sample_c / dsx, the derivative of the bilinear interpolant inside its window (the
//   taps' values, with the fill for a constant border's taps outside), 0 where the coordinate was clamped (clamp_coord)
//   or for a point at infinity (w == 0); then dsx/dm = (x, y, 1, 0, 0, 0, -sx x, -sx y, -sx) / w, and likewise for sy.
template <Interp I, bool Perspective, int C, bool Dense, class Add>
FASTAUG_HD void warp_backward_pixel(const SrcImage<float, C, Dense>* s, int64_t h, int64_t w, const float* m, int64_t x,
                                    int64_t y, Border border, const float* fill, const float* g, const GradImage& gi,
                                    Add&& add, double* dm) {
  constexpr int K = Window<I>::K;
  const WarpCoord p = warp_coord<Perspective>(m, x, y);
  if (!(p.sx == p.sx && p.sy == p.sy)) return;  // NaN coordinates (from an overflowing map): nothing defined
  const Window<I> win = window<I>(p.sy, p.sx);
  int64_t yy[K], xx[K];
  for (int i = 0; i < K; ++i) yy[i] = map_border(int64_t(win.y0) + i, h, border);
  for (int j = 0; j < K; ++j) xx[j] = map_border(int64_t(win.x0) + j, w, border);
  if (gi.data != nullptr) {
    for (int i = 0; i < K; ++i) {
      if (yy[i] < 0) continue;
      for (int j = 0; j < K; ++j) {
        if (xx[j] < 0) continue;
        const float wgt = win.wy[i] * win.wx[j];
        float* q = gi.data + yy[i] * gi.sh + xx[j] * gi.sw;
        for (int c = 0; c < C; ++c) add(q + c * gi.sc, wgt * g[c]);
      }
    }
  }
  if constexpr (I == Interp::Linear) {
    if (s == nullptr || (Perspective && p.w == 0.f)) return;
    // the pixel's coordinate gradient in float (C <= 4 terms: 15% faster than in double), summed in double below
    float fgx = 0.f, fgy = 0.f;
    for (int c = 0; c < C; ++c) {
      float v[2][2];
      for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j) v[i][j] = yy[i] < 0 || xx[j] < 0 ? fill[c] : s->at(yy[i], xx[j], c);
      fgx += g[c] * (win.wy[0] * (v[0][1] - v[0][0]) + win.wy[1] * (v[1][1] - v[1][0]));
      fgy += g[c] * (win.wx[0] * (v[1][0] - v[0][0]) + win.wx[1] * (v[1][1] - v[0][1]));
    }
    double gx = fgx, gy = fgy;
    if (clamp_coord(p.sx) != p.sx) gx = 0.0;
    if (clamp_coord(p.sy) != p.sy) gy = 0.0;
    const double r = Perspective ? 1.0 / double(p.w) : 1.0, ax = gx * r, ay = gy * r;
    const double fx = double(x), fy = double(y);
    dm[0] += ax * fx, dm[1] += ax * fy, dm[2] += ax;
    dm[3] += ay * fx, dm[4] += ay * fy, dm[5] += ay;
    if constexpr (Perspective) {
      const double t = -(ax * double(p.sx) + ay * double(p.sy));
      dm[6] += t * fx, dm[7] += t * fy, dm[8] += t;
    }
  }
}

}  // namespace fastaug::detail
