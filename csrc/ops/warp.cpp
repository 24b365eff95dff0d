// warp_affine and warp_perspective: validation, inversion of the matrices, and the CPU loop.
#include <cmath>
#include <type_traits>
#include <vector>

#include "../common/dispatch.hpp"
#include "../common/parallel.hpp"
#include "backend.hpp"
#include "fastaug/ops.hpp"
#include "warp_avx2.hpp"
#include "warp_pixel.hpp"

namespace fastaug {
namespace detail {
namespace {

// Inverse of the 3x3 matrix m (row-major) into inv as float, or false if singular / not finite.
bool invert3x3(const double* m, float* inv) {
  const double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5], g = m[6], h = m[7], i = m[8];
  const double det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (!std::isfinite(det) || det == 0.0) return false;
  const double r = 1.0 / det;
  const double out[9] = {(e * i - f * h) * r, (c * h - b * i) * r, (b * f - c * e) * r,
                         (f * g - d * i) * r, (a * i - c * g) * r, (c * d - a * f) * r,
                         (d * h - e * g) * r, (b * g - a * h) * r, (a * e - b * d) * r};
  for (int k = 0; k < 9; ++k) {
    inv[k] = static_cast<float>(out[k]);
    if (!std::isfinite(inv[k])) return false;  // nearly singular: the float inverse overflows
  }
  return true;
}

// Forward matrices (6 or 9 doubles per sample) -> inverse 3x3 float matrices.
std::vector<float> inverse_maps(const double* M, int64_t n, bool perspective, const char* name) {
  FASTAUG_CHECK(n == 0 || M != nullptr, name, ": is null");
  std::vector<float> inv(static_cast<size_t>(n) * 9);
  for (int64_t k = 0; k < n; ++k) {
    double m[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
    for (int j = 0; j < (perspective ? 9 : 6); ++j) {
      m[j] = M[k * (perspective ? 9 : 6) + j];
      FASTAUG_CHECK(std::isfinite(m[j]), name, ": matrix of sample ", k, " has a non-finite entry");
    }
    FASTAUG_CHECK(invert3x3(m, &inv[k * 9]), name, ": matrix of sample ", k, " is singular (not invertible)");
  }
  return inv;
}

// Image n of a warp's source as a one-image view: of a batch, or of a ragged list.
ImageView source_image(const ImageView& v, int64_t n) {
  ImageView s = v;
  s.data = static_cast<char*>(v.data) + n * v.sn * (v.dtype == DType::UInt8 ? 1 : 4);
  s.n = 1;
  return s;
}
ImageView source_image(const RaggedView& v, int64_t n) { return v.image(n); }

// Whether every source image has channels-last rows (the Dense loops' compile-time strides).
bool rows_dense(const ImageView& v) { return v.rows_dense(); }
bool rows_dense(const RaggedView& v) {
  for (int64_t n = 0; n < v.n; ++n)
    if (!v.image(n).rows_dense()) return false;
  return true;
}

void check_not_empty(const ImageView& src) {
  FASTAUG_CHECK(src.h > 0 && src.w > 0, "src: cannot warp an empty image of shape ", shape_str(src));
}
void check_not_empty(const RaggedView& src) {
  for (int64_t n = 0; n < src.n; ++n)
    FASTAUG_CHECK(src.images[n].h > 0 && src.images[n].w > 0, "src[", n, "]: cannot warp an empty image of shape ",
                  shape_str(src.image(n)));
}

template <bool Perspective, class Src>
void warp_cpu(const Src& src, const ImageView& dst, const float* minv, Interp interp, Border border,
              const float* fill) {
#ifdef FASTAUG_HAVE_WARP_AVX2
  const bool avx2 = cpu_has_avx2();
#endif
  dispatch_dtype(src.dtype, [&](auto t) {
    using T = decltype(t);
    dispatch_channels(src.c, [&](auto ch) {
      constexpr int C = decltype(ch)::value;
      dispatch_interp(interp, [&](auto ip) {
        constexpr Interp I = decltype(ip)::value;
        auto rows = [&](auto dense) {
          constexpr bool Dense = decltype(dense)::value;
          parallel_rows(dst.n, dst.h, [&](int64_t n, int64_t y) {
            // Everything the pixel loop reads is copied into locals: uint8 stores may alias any memory,
            // so values read through pointers or captures would be reloaded for every pixel.
            const ImageView v = source_image(src, n);
            const SrcImage<T, C, Dense> s{static_cast<const T*>(v.data), v.h, v.w, v.sh, v.sw, v.sc};
            float m[9], f[4];
            for (int k = 0; k < 9; ++k) m[k] = minv[n * 9 + k];
            for (int k = 0; k < 4; ++k) f[k] = fill[k];
            const Border b = border;
            const int64_t osw = dst.sw, osc = dst.sc, w = dst.w;
            T* row = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
#ifdef FASTAUG_HAVE_WARP_AVX2
            // 32-bit gather offsets: the whole source image must be addressable in int32
            if constexpr (std::is_same_v<T, uint8_t> && I != Interp::Cubic && Dense) {
              if (avx2 && v.h * v.sh + v.w * v.c < (int64_t(1) << 31) && v.sh > 0 && osw == C && osc == 1)
                return warp_u8_row_avx2<I, C, Perspective>(s, m, y, b, f, row, w);
            }
#endif
            for (int64_t x = 0; x < w; ++x) warp_pixel<I, Perspective>(s, m, x, y, b, f, row + x * osw, osc);
          });
        };
        if (rows_dense(src))
          rows(std::true_type{});
        else
          rows(std::false_type{});
      });
    });
  });
}

// Validation (every argument, every image, before any memory is touched), inversion of the matrices, routing.
template <bool Perspective, class Src>
void warp(const Src& src, const ImageView& dst, const double* M, Interp interp, Border border, const double fill[4],
          const char* op, Stream stream) {
  check_pair(src, dst);
  FASTAUG_CHECK(dst.n == src.n && dst.c == src.c && dst.dtype == src.dtype, "dst: expected ", src.n, " images of ",
                src.c, " channels and dtype ", dtype_name(src.dtype), " like src, got shape ", shape_str(dst), " ",
                dtype_name(dst.dtype));
  check_border(border);
  FASTAUG_CHECK(interp == Interp::Nearest || interp == Interp::Linear || interp == Interp::Cubic,
                "interp: expected nearest, linear or cubic, got code ", static_cast<int>(interp));
  const std::vector<float> minv = inverse_maps(M, src.n, Perspective, Perspective ? "H" : "M");
  float fillf[4];
  for (int c = 0; c < 4; ++c) fillf[c] = fill ? static_cast<float>(fill[c]) : 0.f;
  if (dst.empty()) return;
  check_not_empty(src);
  FASTAUG_ROUTE(src, op, warp_cpu<Perspective>(src, dst, minv.data(), interp, border, fillf),
                cuda::warp(src, dst, minv.data(), Perspective, interp, border, fillf, stream));
}

}  // namespace
}  // namespace detail

// The public front doors, for a batch (ImageView) and for a ragged batch (RaggedView).
#define FASTAUG_WARP_FRONT_DOORS(Source)                                                                        \
  void warp_affine(const Source& src, const ImageView& dst, const double* M, Interp interp, Border border,      \
                   const double fill[4], Stream stream) {                                                       \
    detail::warp<false>(src, dst, M, interp, border, fill, "warp_affine", stream);                              \
  }                                                                                                             \
  void warp_perspective(const Source& src, const ImageView& dst, const double* H, Interp interp, Border border, \
                        const double fill[4], Stream stream) {                                                  \
    detail::warp<true>(src, dst, H, interp, border, fill, "warp_perspective", stream);                          \
  }

FASTAUG_WARP_FRONT_DOORS(ImageView)
FASTAUG_WARP_FRONT_DOORS(RaggedView)
#undef FASTAUG_WARP_FRONT_DOORS

}  // namespace fastaug
