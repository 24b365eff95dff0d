// equalize, to_gray, threshold, invert, normalize, lut, color_transform, channel_mean, hue_shift (CPU loops).
#include "../common/cpu.hpp"
#ifdef FASTAUG_X86_SIMD
#include <immintrin.h>
#endif

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "../common/dispatch.hpp"
#include "../common/parallel.hpp"
#include "backend.hpp"
#include "fastaug/intensity.hpp"
#include "intensity_pixel.hpp"

namespace fastaug {
namespace detail {
namespace {

// Calls f(in, out) on pixel pointers of every pixel, row-parallel; with C and the dtypes known at
// compile time the dense case is a flat loop the compiler vectorises.
template <class T, class U, int CI, int CO, class F>
void pointwise(const ImageView& src, const ImageView& dst, F&& f) {
  parallel_rows(src.n, src.h, [&](int64_t n, int64_t y) {
    const T* s = static_cast<const T*>(src.data) + n * src.sn + y * src.sh;
    U* d = static_cast<U*>(dst.data) + n * dst.sn + y * dst.sh;
    if (src.sw == CI && src.sc == 1 && dst.sw == CO && dst.sc == 1) {
      for (int64_t x = 0; x < src.w; ++x) f(n, s + x * CI, int64_t(1), d + x * CO, int64_t(1));
    } else {
      for (int64_t x = 0; x < src.w; ++x) f(n, s + x * src.sw, src.sc, d + x * dst.sw, dst.sc);
    }
  });
}

// Calls d = f(s) on every value, for maths that is the same on every channel, with f = make(n) for
// image n: f holds its parameters by value, so that the uint8 stores (which may alias anything) do not
// force a reload per value, and dense rows are one flat loop that vectorises.
template <class T, class Make>
void elementwise(const ImageView& src, const ImageView& dst, Make&& make) {
  parallel_rows(src.n, src.h, [&](int64_t n, int64_t y) {
    const T* s = static_cast<const T*>(src.data) + n * src.sn + y * src.sh;
    T* d = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
    const int64_t C = src.c, w = src.w;
    const auto f = make(n);
    if (src.rows_dense() && dst.rows_dense()) {
      for (int64_t i = 0; i < w * C; ++i) d[i] = f(s[i]);
    } else if (src.sw == 1 && dst.sw == 1) {  // planar (NCHW memory): each channel's row is contiguous
      for (int64_t c = 0; c < C; ++c) {
        const T* sp = s + c * src.sc;
        T* dp = d + c * dst.sc;
        for (int64_t x = 0; x < w; ++x) dp[x] = f(sp[x]);
      }
    } else if (src.sw == 1 || dst.sw == 1) {  // one side planar: a channel at a time along its rows
      for (int64_t c = 0; c < C; ++c) {
        const T* sp = s + c * src.sc;
        T* dp = d + c * dst.sc;
        const int64_t ssw = src.sw, dsw = dst.sw;
        for (int64_t x = 0; x < w; ++x) dp[x * dsw] = f(sp[x * ssw]);
      }
    } else {
      for (int64_t x = 0; x < w; ++x)
        for (int64_t c = 0; c < C; ++c) d[x * dst.sw + c * dst.sc] = f(s[x * src.sw + c * src.sc]);
    }
  });
}

// A row of grey values. Called with literal strides for dense rows, so that the loop over pixels
// vectorises (the channel loads of a pixel become shuffles of whole vectors).
template <class T, int C, bool Dense>
FASTAUG_CPU_CLONES void gray_row(const T* s, int64_t sw, int64_t sc, T* d, int64_t w, int64_t dw) {
  if constexpr (Dense) sw = C, sc = 1, dw = 1;
  for (int64_t x = 0; x < w; ++x) {
    const T* p = s + x * sw;
    if constexpr (C == 1)
      d[x * dw] = p[0];
    else
      d[x * dw] = gray_pixel(p[0], p[sc], p[2 * sc]);
  }
}

#ifdef FASTAUG_X86_SIMD
// gray_pixel on a dense uint8 RGB row with AVX2, 32 pixels a step (GCC's stride-3 loads above are slow):
// each 128-bit lane loads 4 pixels (12 bytes), pshufb spreads them into 16-bit (r, g) pairs and b words,
// pmaddwd forms r * 9798 + g * 19235 and b * 3735 in 32 bits, then the same rounding shift as gray_pixel,
// so the bits are gray_pixel's. Each 16-byte load reads 4 bytes past its pixels: the vector loop stops
// while 2 more pixels of the row remain; the scalar loop finishes the row.
__attribute__((target("avx2"))) inline __m256i gray8_avx2(const uint8_t* p) {
  constexpr char z = -128;  // pshufb: a zero byte
  const __m256i rg = _mm256_broadcastsi128_si256(_mm_setr_epi8(0, z, 1, z, 3, z, 4, z, 6, z, 7, z, 9, z, 10, z));
  const __m256i b = _mm256_broadcastsi128_si256(_mm_setr_epi8(2, z, z, z, 5, z, z, z, 8, z, z, z, 11, z, z, z));
  const __m256i k_rg = _mm256_set1_epi32(19235 << 16 | 9798), k_b = _mm256_set1_epi32(3735);
  const __m256i v =
      _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
                              _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 12)), 1);
  const __m256i sum = _mm256_add_epi32(_mm256_madd_epi16(_mm256_shuffle_epi8(v, rg), k_rg),
                                       _mm256_madd_epi16(_mm256_shuffle_epi8(v, b), k_b));
  return _mm256_srli_epi32(_mm256_add_epi32(sum, _mm256_set1_epi32(1 << 14)), 15);  // pixels 0-3 | 4-7
}

__attribute__((target("avx2"))) void gray_row_u8c3_avx2(const uint8_t* s, uint8_t* d, int64_t w) {
  int64_t x = 0;
  for (; x + 34 <= w; x += 32) {
    const uint8_t* p = s + x * 3;
    // packs interleave the lanes: bytes come out as pixels 0-3 8-11 16-19 24-27 | 4-7 12-15 20-23 28-31
    const __m256i lo = _mm256_packus_epi32(gray8_avx2(p), gray8_avx2(p + 24));
    const __m256i hi = _mm256_packus_epi32(gray8_avx2(p + 48), gray8_avx2(p + 72));
    const __m256i bytes = _mm256_packus_epi16(lo, hi);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + x), _mm256_permutevar8x32_epi32(bytes, order));
  }
  for (; x < w; ++x) d[x] = gray_pixel(s[3 * x], s[3 * x + 1], s[3 * x + 2]);
}
#endif

// One channel of a dense row (values C apart) into a contiguous row of its plane, as U (float, Half, BFloat16).
template <class T, int C, class U>
FASTAUG_CPU_CLONES void normalize_plane_row(const T* __restrict s, U* __restrict d, int64_t w, float a, float b) {
  for (int64_t x = 0; x < w; ++x) d[x] = saturate_cast<U>(normalize_pixel(static_cast<float>(s[x * C]), a, b));
}

// One image: the C histograms in one pass over its pixels, then the C LUTs applied in one pass.
template <int C>
void equalize_image(const ImageView& src, const ImageView& dst, int64_t n) {
  const uint8_t* s = static_cast<const uint8_t*>(src.data) + n * src.sn;
  uint8_t* d = static_cast<uint8_t*>(dst.data) + n * dst.sn;
  const int64_t h = src.h, w = src.w, ssh = src.sh, ssw = src.sw, ssc = src.sc;
  const int64_t dsh = dst.sh, dsw = dst.sw, dsc = dst.sc;
  int32_t hist[C][256] = {};
  for (int64_t y = 0; y < h; ++y) {
    const uint8_t* row = s + y * ssh;
    if (src.rows_dense()) {
      for (int64_t x = 0; x < w; ++x)
        for (int c = 0; c < C; ++c) ++hist[c][row[x * C + c]];
    } else {
      for (int64_t x = 0; x < w; ++x)
        for (int c = 0; c < C; ++c) ++hist[c][row[x * ssw + c * ssc]];
    }
  }
  uint8_t lut[C][256];
  for (int c = 0; c < C; ++c) equalize_lut(hist[c], static_cast<int32_t>(h * w), lut[c]);
  const bool dense = src.rows_dense() && dst.rows_dense();
  for (int64_t y = 0; y < h; ++y) {
    const uint8_t* in = s + y * ssh;
    uint8_t* out = d + y * dsh;
    if (dense) {
      for (int64_t x = 0; x < w; ++x)
        for (int c = 0; c < C; ++c) out[x * C + c] = lut[c][in[x * C + c]];
    } else {
      for (int64_t x = 0; x < w; ++x)
        for (int c = 0; c < C; ++c) out[x * dsw + c * dsc] = lut[c][in[x * ssw + c * ssc]];
    }
  }
}

void check_same(const ImageView& src, const ImageView& dst) {
  check_pair(src, dst);
  check_shape(dst, "dst", src.n, src.h, src.w, src.c);
  check_dtype(dst, "dst", src.dtype);
}

// The mode is a template argument so that threshold_select's switch folds away and the loop vectorises.
// uint8 compares in 8-bit lanes: thresh is a floored integer in [-1, 255], so v > thresh is v > cut
// (unsigned) or, for -1, always true; the same results as threshold_pixel's float compare.
template <class T, ThresholdMode Mode>
void threshold_cpu(const ImageView& src, const ImageView& dst, const float* t, const T* mx) {
  elementwise<T>(src, dst, [&](int64_t n) {
    const T cut = saturate_cast<T>(t[n]);
    if constexpr (std::is_same_v<T, uint8_t>) {
      return [cut, all = t[n] < 0.f, maxval = mx[n]](T v) {
        return threshold_select<T>(v, all | (v > cut), cut, maxval, Mode);
      };
    } else {
      return
          [cut, thresh = t[n], maxval = mx[n]](T v) { return threshold_select<T>(v, v > thresh, cut, maxval, Mode); };
    }
  });
}

template <class T>
void threshold_cpu(const ImageView& src, const ImageView& dst, const float* t, const T* mx, ThresholdMode mode) {
  switch (mode) {
    case ThresholdMode::Binary:
      return threshold_cpu<T, ThresholdMode::Binary>(src, dst, t, mx);
    case ThresholdMode::BinaryInv:
      return threshold_cpu<T, ThresholdMode::BinaryInv>(src, dst, t, mx);
    case ThresholdMode::Trunc:
      return threshold_cpu<T, ThresholdMode::Trunc>(src, dst, t, mx);
    case ThresholdMode::ToZero:
      return threshold_cpu<T, ThresholdMode::ToZero>(src, dst, t, mx);
    case ThresholdMode::ToZeroInv:
      return threshold_cpu<T, ThresholdMode::ToZeroInv>(src, dst, t, mx);
  }
}

// lut: each pixel's C values through its sample's C tables.
template <int C>
void lut_cpu(const ImageView& src, const ImageView& dst, const uint8_t* table) {
  pointwise<uint8_t, uint8_t, C, C>(src, dst,
                                    [&](int64_t n, const uint8_t* in, int64_t isc, uint8_t* out, int64_t osc) {
                                      const uint8_t* t = table + n * C * 256;
                                      for (int c = 0; c < C; ++c) out[c * osc] = lut_pixel(t, c, in[c * isc]);
                                    });
}

// One row of color_transform; dense rows with literal strides, so that the loop over pixels vectorises.
template <class T, int C, ColorKind K, bool Dense>
FASTAUG_CPU_CLONES_FMA void color_row(const T* s, int64_t ssw, int64_t ssc, T* d, int64_t dsw, int64_t dsc, int64_t w,
                                      const ColorMatrix& matrix) {
  if constexpr (Dense) ssw = C, ssc = 1, dsw = C, dsc = 1;
  const ColorMatrix m = matrix;  // a local copy: the uint8 stores below cannot alias it
  for (int64_t x = 0; x < w; ++x) {
    T v[C];
    for (int c = 0; c < C; ++c) v[c] = s[x * ssw + c * ssc];
    for (int c = 0; c < C; ++c) d[x * dsw + c * dsc] = color_channel<K, C>(m, v, c);
  }
}

// One row of color_transform on planar rows (NCHW tensors: unit strides along the row, planes ssc / dsc apart) of
// disjoint images: the loop over pixels vectorises (C unit-stride streams), with each pixel's color_channel.
template <class T, int C, ColorKind K>
FASTAUG_CPU_CLONES_FMA void color_row_planar(const T* __restrict s, int64_t ssc, T* __restrict d, int64_t dsc,
                                             int64_t w, const ColorMatrix& matrix) {
  const ColorMatrix m = matrix;
  for (int64_t x = 0; x < w; ++x) {
    T v[C];
    for (int c = 0; c < C; ++c) v[c] = s[x + c * ssc];
    for (int c = 0; c < C; ++c) d[x + c * dsc] = color_channel<K, C>(m, v, c);
  }
}

// The bytes [lo, hi) that a view's elements span.
void byte_span(const ImageView& v, const char*& lo, const char*& hi) {
  const int64_t size = v.dtype == DType::UInt8 ? 1 : 4, dims[4] = {v.n, v.h, v.w, v.c},
                st[4] = {v.sn, v.sh, v.sw, v.sc};
  int64_t a = 0, b = 0;
  for (int k = 0; k < 4; ++k) (st[k] < 0 ? a : b) += (dims[k] - 1) * st[k];
  lo = static_cast<const char*>(v.data) + a * size;
  hi = static_cast<const char*>(v.data) + (b + 1) * size;
}

bool disjoint(const ImageView& a, const ImageView& b) {
  const char *alo, *ahi, *blo, *bhi;
  byte_span(a, alo, ahi);
  byte_span(b, blo, bhi);
  return ahi <= blo || bhi <= alo;
}

// Calls f(std::integral_constant<ColorKind, K>) for sample matrix m's kind (the fixed point only exists for
// uint8 with 3 channels: color_matrix chooses it nowhere else).
template <class T, int C, class F>
void with_color_kind(const ColorMatrix& m, F&& f) {
  if constexpr (std::is_same_v<T, uint8_t> && C == 3) {
    if (m.kind == static_cast<int32_t>(ColorKind::Fixed))
      return f(std::integral_constant<ColorKind, ColorKind::Fixed>{});
  }
  if (m.kind == static_cast<int32_t>(ColorKind::Diag)) return f(std::integral_constant<ColorKind, ColorKind::Diag>{});
  f(std::integral_constant<ColorKind, ColorKind::Full>{});
}

template <class T, int C, bool Dense>
void color_rows(const ImageView& src, const ImageView& dst, const ColorMatrix* matrices) {
  const bool planar = !Dense && src.sw == 1 && dst.sw == 1 && disjoint(src, dst);
  parallel_rows(src.n, src.h, [&](int64_t n, int64_t y) {
    const T* s = static_cast<const T*>(src.data) + n * src.sn + y * src.sh;
    T* d = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
    const ColorMatrix& m = matrices[n];
    with_color_kind<T, C>(m, [&](auto kind) {
      if (planar)
        color_row_planar<T, C, decltype(kind)::value>(s, src.sc, d, dst.sc, src.w, m);
      else
        color_row<T, C, decltype(kind)::value, Dense>(s, src.sw, src.sc, d, dst.sw, dst.sc, src.w, m);
    });
  });
}

// One row of normalize with color_transform in front: each pixel's color_channel values, as the T that
// color_transform stores, through normalize_pixel into U. Dense: a dense source row into planar (NCHW) rows.
template <class T, int C, class U, ColorKind K, bool Dense>
FASTAUG_CPU_CLONES_FMA void color_normalize_row(const T* __restrict s, int64_t ssw, int64_t ssc, U* __restrict d,
                                                int64_t dsw, int64_t dsc, int64_t w, const ColorMatrix& matrix,
                                                const float* a, const float* b) {
  if constexpr (Dense) ssw = C, ssc = 1, dsw = 1;
  const ColorMatrix m = matrix;
  float ac[C], bc[C];
  for (int c = 0; c < C; ++c) ac[c] = a[c], bc[c] = b[c];
  for (int64_t x = 0; x < w; ++x) {
    T v[C];
    for (int c = 0; c < C; ++c) v[c] = s[x * ssw + c * ssc];
    for (int c = 0; c < C; ++c)
      d[x * dsw + c * dsc] =
          saturate_cast<U>(normalize_pixel(static_cast<float>(color_channel<K, C>(m, v, c)), ac[c], bc[c]));
  }
}

template <class T, class U, int C>
void color_normalize_cpu(const ImageView& src, const ImageView& dst, const float* a, const float* b,
                         const ColorMatrix* matrices) {
  const bool dense = src.rows_dense() && dst.sw == 1;
  parallel_rows(src.n, src.h, [&](int64_t n, int64_t y) {
    const T* s = static_cast<const T*>(src.data) + n * src.sn + y * src.sh;
    U* d = static_cast<U*>(dst.data) + n * dst.sn + y * dst.sh;
    const ColorMatrix& m = matrices[n];
    with_color_kind<T, C>(m, [&](auto kind) {
      constexpr ColorKind K = decltype(kind)::value;
      if (dense)
        color_normalize_row<T, C, U, K, true>(s, C, 1, d, 1, dst.sc, src.w, m, a, b);
      else
        color_normalize_row<T, C, U, K, false>(s, src.sw, src.sc, d, dst.sw, dst.sc, src.w, m, a, b);
    });
  });
}

// cv::transform's choice for one sample's C x (C + 1) matrix (row-major doubles), converted to float as OpenCV
// converts it; n names the sample in errors.
ColorMatrix color_matrix(const double* matrix, int C, bool u8, int64_t n) {
  ColorMatrix cm{};
  for (int c = 0; c < C; ++c)
    for (int k = 0; k <= C; ++k) {
      const double v = matrix[c * (C + 1) + k];
      cm.m[c][k] = static_cast<float>(v);
      FASTAUG_CHECK(std::isfinite(v) && std::isfinite(cm.m[c][k]), "matrix: entry [", c, ", ", k, "] of sample ", n,
                    " is ", v, "; expected a finite value within the float32 range");
    }
  bool diag = true;
  for (int i = 0; i < C; ++i)
    for (int j = 0; j < C; ++j)
      if (i != j && std::fabs(static_cast<double>(cm.m[i][j])) > FLT_EPSILON) diag = false;
  bool small = u8 && C == 3;  // OpenCV's fixed-point condition
  for (int c = 0; c < C && small; ++c)
    small = std::fabs(cm.m[c][0]) < 32.f && std::fabs(cm.m[c][1]) < 32.f && std::fabs(cm.m[c][2]) < 8192.f &&
            std::fabs(cm.m[c][3]) < 8192.f;
  cm.kind = static_cast<int32_t>(diag ? ColorKind::Diag : (small ? ColorKind::Fixed : ColorKind::Full));
  if (cm.kind == static_cast<int32_t>(ColorKind::Fixed)) {
    // cvRound (nearest, ties to even) of m * 1024 in float; the first two coefficients saturated to int16
    const auto q = [](float v) { return static_cast<int32_t>(std::nearbyint(v * 1024.f)); };
    for (int c = 0; c < 3; ++c) {
      cm.q[c][0] = std::min(std::max(q(cm.m[c][0]), -32768), 32767);
      cm.q[c][1] = std::min(std::max(q(cm.m[c][1]), -32768), 32767);
      cm.q[c][2] = q(cm.m[c][2]);
      cm.q[c][3] = q(cm.m[c][3]) + 512;
    }
  }
  return cm;
}

// color_matrix of every sample of src from N * C * (C + 1) doubles.
std::vector<ColorMatrix> color_matrices(const ImageView& src, const double* matrix) {
  FASTAUG_CHECK(src.n == 0 || matrix != nullptr, "matrix: is null");
  const int C = static_cast<int>(src.c);
  std::vector<ColorMatrix> matrices(static_cast<size_t>(src.n));
  for (int64_t n = 0; n < src.n; ++n)
    matrices[n] = color_matrix(matrix + n * C * (C + 1), C, src.dtype == DType::UInt8, n);
  return matrices;
}

// A dense row of channel_mean (literal strides: the lanes vectorise).
template <class T, int C, int L, class Acc, class Sum>
FASTAUG_CPU_CLONES void mean_row_dense(const T* row, int64_t w, Sum* sums) {
  mean_row<T, C, L, Acc, Sum>(row, w, C, 1, sums);
}

// The row sums of every image (in parallel), then each image's in row order, times 1 / (H * W).
template <class T, int C, int L, class Acc, class Sum>
void channel_mean_cpu(const ImageView& src, double* out) {
  std::vector<Sum> rows(static_cast<size_t>(src.n * src.h * C));
  parallel_rows(src.n, src.h, [&](int64_t n, int64_t y) {
    const T* row = static_cast<const T*>(src.data) + n * src.sn + y * src.sh;
    Sum* sums = &rows[static_cast<size_t>((n * src.h + y) * C)];
    if (src.rows_dense())
      mean_row_dense<T, C, L, Acc, Sum>(row, src.w, sums);
    else
      mean_row<T, C, L, Acc, Sum>(row, src.w, src.sw, src.sc, sums);
  });
  const double scale = src.h * src.w > 0 ? 1.0 / static_cast<double>(src.h * src.w) : 0.0;
  for (int64_t n = 0; n < src.n; ++n)
    for (int c = 0; c < C; ++c) {
      Sum s = 0;
      for (int64_t y = 0; y < src.h; ++y) s += rows[static_cast<size_t>((n * src.h + y) * C + c)];
      out[n * C + c] = static_cast<double>(s) * scale;
    }
}

// normalize into U (float, Half or BFloat16): an NCHW output (the usual last step) one plane row at a time, any
// other layout pixel by pixel; with matrices, color_normalize_cpu.
template <class T, class U, int C>
void normalize_cpu(const ImageView& src, const ImageView& dst, const float* a, const float* b,
                   const ColorMatrix* matrices) {
  if (matrices != nullptr) return color_normalize_cpu<T, U, C>(src, dst, a, b, matrices);
  if (src.rows_dense() && dst.sw == 1) {
    parallel_rows(src.n, src.h, [&](int64_t n, int64_t y) {
      const T* s = static_cast<const T*>(src.data) + n * src.sn + y * src.sh;
      U* d = static_cast<U*>(dst.data) + n * dst.sn + y * dst.sh;
      for (int c = 0; c < C; ++c) normalize_plane_row<T, C, U>(s + c, d + c * dst.sc, src.w, a[c], b[c]);
    });
    return;
  }
  pointwise<T, U, C, C>(src, dst, [&](int64_t, const T* in, int64_t isc, U* out, int64_t osc) {
    for (int c = 0; c < C; ++c)
      out[c * osc] = saturate_cast<U>(normalize_pixel(static_cast<float>(in[c * isc]), a[c], b[c]));
  });
}

// One row of hue_shift; dense rows with literal strides.
template <class T, int C, bool Dense>
FASTAUG_CPU_CLONES void hue_row(const T* s, int64_t ssw, int64_t ssc, T* d, int64_t dsw, int64_t dsc, int64_t w,
                                float hue) {
  if constexpr (Dense) ssw = C, ssc = 1, dsw = C, dsc = 1;
  for (int64_t x = 0; x < w; ++x) hue_pixel<T, C>(s + x * ssw, ssc, d + x * dsw, dsc, hue);
}

template <class T, int C>
void hue_rows(const ImageView& src, const ImageView& dst, const float* hue) {
  const bool dense = src.rows_dense() && dst.rows_dense();
  parallel_rows(src.n, src.h, [&](int64_t n, int64_t y) {
    const T* s = static_cast<const T*>(src.data) + n * src.sn + y * src.sh;
    T* d = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
    if (dense)
      hue_row<T, C, true>(s, C, 1, d, C, 1, src.w, hue[n]);
    else
      hue_row<T, C, false>(s, src.sw, src.sc, d, dst.sw, dst.sc, src.w, hue[n]);
  });
}

}  // namespace
}  // namespace detail

void equalize(const ImageView& src, const ImageView& dst, [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_same(src, dst);
  check_dtype(src, "img", DType::UInt8);
  if (dst.empty()) return;
  FASTAUG_CHECK(src.h * src.w < (int64_t(1) << 31), "img: images above 2^31 pixels are not supported");
  FASTAUG_ROUTE(
      src, "equalize",
      dispatch_channels(
          src.c,
          [&](auto ch) { parallel_for(src.n, [&](int64_t n) { equalize_image<decltype(ch)::value>(src, dst, n); }); }),
      cuda::equalize(src, dst, stream));
}

void to_gray(const ImageView& src, const ImageView& dst, [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_pair(src, dst);
  check_shape(dst, "dst", src.n, src.h, src.w, 1);
  check_dtype(dst, "dst", src.dtype);
  if (dst.empty()) return;
  FASTAUG_ROUTE(src, "to_gray",
                dispatch_dtype(src.dtype,
                               [&](auto t) {
                                 using T = decltype(t);
                                 dispatch_channels(src.c, [&](auto ch) {
                                   constexpr int C = decltype(ch)::value;
                                   parallel_rows(src.n, src.h, [&](int64_t n, int64_t y) {
                                     const T* s = static_cast<const T*>(src.data) + n * src.sn + y * src.sh;
                                     T* d = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
#ifdef FASTAUG_X86_SIMD
                                     if constexpr (std::is_same_v<T, uint8_t> && C == 3)
                                       if (src.rows_dense() && dst.sw == 1 && cpu_has_avx2())
                                         return gray_row_u8c3_avx2(s, d, src.w);
#endif
                                     if (src.rows_dense() && dst.sw == 1)
                                       gray_row<T, C, true>(s, C, 1, d, src.w, 1);
                                     else
                                       gray_row<T, C, false>(s, src.sw, src.sc, d, src.w, dst.sw);
                                   });
                                 });
                               }),
                cuda::to_gray(src, dst, stream));
}

void threshold(const ImageView& src, const ImageView& dst, const double* thresh, const double* maxval,
               ThresholdMode mode, [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_same(src, dst);
  FASTAUG_CHECK(static_cast<int>(mode) >= 0 && static_cast<int>(mode) <= 4,
                "mode: expected binary, binary_inv, "
                "trunc, tozero or tozero_inv, got code ",
                static_cast<int>(mode));
  const bool u8 = src.dtype == DType::UInt8;
  std::vector<float> t(src.n);
  std::vector<float> mxf(src.n);
  std::vector<uint8_t> mxu(src.n);
  for (int64_t n = 0; n < src.n; ++n) {
    FASTAUG_CHECK(!std::isnan(thresh[n]) && !std::isnan(maxval[n]), "thresh, maxval: NaN for sample ", n);
    // OpenCV on uint8: thresh floored (and clamped to the range), maxval rounded and saturated.
    t[n] =
        u8 ? static_cast<float>(std::min(std::max(std::floor(thresh[n]), -1.0), 255.0)) : static_cast<float>(thresh[n]);
    mxf[n] = static_cast<float>(maxval[n]);
    mxu[n] = saturate_cast<uint8_t>(static_cast<float>(std::min(std::max(maxval[n], -1.0), 256.0)));
  }
  if (dst.empty()) return;
  [[maybe_unused]] const std::vector<float> mxu_f(mxu.begin(), mxu.end());  // the CUDA kernel takes floats
  FASTAUG_ROUTE(src, "threshold",
                dispatch_dtype(src.dtype,
                               [&](auto tt) {
                                 using T = decltype(tt);
                                 const T* mx;
                                 if constexpr (std::is_same_v<T, uint8_t>)
                                   mx = mxu.data();
                                 else
                                   mx = mxf.data();
                                 threshold_cpu<T>(src, dst, t.data(), mx, mode);
                               }),
                cuda::threshold(src, dst, t.data(), u8 ? mxu_f.data() : mxf.data(), mode, stream));
}

void invert(const ImageView& src, const ImageView& dst, [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_same(src, dst);
  if (dst.empty()) return;
  FASTAUG_ROUTE(src, "invert",
                dispatch_dtype(src.dtype,
                               [&](auto t) {
                                 using T = decltype(t);
                                 elementwise<T>(src, dst, [](int64_t) { return [](T v) { return invert_pixel(v); }; });
                               }),
                cuda::invert(src, dst, stream));
}

void normalize(const ImageView& src, const ImageView& dst, const double* mean, const double* std, double scale,
               Stream stream) {
  normalize(src, dst, mean, std, scale, nullptr, stream);
}

void normalize(const ImageView& src, const ImageView& dst, const double* mean, const double* std, double scale,
               const double* matrix, [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_pair(src, dst, true);
  check_shape(dst, "dst", src.n, src.h, src.w, src.c);
  float a[4] = {}, b[4] = {};
  for (int64_t c = 0; c < src.c; ++c) {
    FASTAUG_CHECK(std::isfinite(mean[c]) && std::isfinite(std[c]) && std[c] != 0.0,
                  "std: expected finite, "
                  "non-zero values (and finite mean), got mean ",
                  mean[c], ", std ", std[c], " for channel ", c);
    a[c] = static_cast<float>(scale / std[c]);
    b[c] = static_cast<float>(-mean[c] / std[c]);
  }
  const std::vector<ColorMatrix> matrices =
      matrix != nullptr ? color_matrices(src, matrix) : std::vector<ColorMatrix>{};
  const ColorMatrix* cm = matrices.empty() ? nullptr : matrices.data();
  if (dst.empty()) return;
  FASTAUG_ROUTE(src, "normalize",
                dispatch_dtype(src.dtype,
                               [&](auto t) {
                                 dispatch_float_out(dst.dtype, [&](auto u) {
                                   dispatch_channels(src.c, [&](auto ch) {
                                     normalize_cpu<decltype(t), decltype(u), decltype(ch)::value>(src, dst, a, b, cm);
                                   });
                                 });
                               }),
                cuda::normalize(src, dst, a, b, cm, stream));
}

void lut(const ImageView& src, const ImageView& dst, const uint8_t* table, [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_same(src, dst);
  check_dtype(src, "img", DType::UInt8);
  FASTAUG_CHECK(src.n == 0 || table != nullptr, "table: is null");
  if (dst.empty()) return;
  FASTAUG_ROUTE(src, "lut", dispatch_channels(src.c, [&](auto ch) { lut_cpu<decltype(ch)::value>(src, dst, table); }),
                cuda::lut(src, dst, table, stream));
}

void color_transform(const ImageView& src, const ImageView& dst, const double* matrix, [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_same(src, dst);
  const std::vector<ColorMatrix> matrices = color_matrices(src, matrix);
  if (dst.empty()) return;
  FASTAUG_ROUTE(src, "color_transform",
                dispatch_dtype(src.dtype,
                               [&](auto t) {
                                 dispatch_channels(src.c, [&](auto ch) {
                                   using T = decltype(t);
                                   constexpr int Ch = decltype(ch)::value;
                                   if (src.rows_dense() && dst.rows_dense())
                                     color_rows<T, Ch, true>(src, dst, matrices.data());
                                   else
                                     color_rows<T, Ch, false>(src, dst, matrices.data());
                                 });
                               }),
                cuda::color_transform(src, dst, matrices.data(), stream));
}

void channel_mean(const ImageView& src, double* out, [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_image(src, "img");
  FASTAUG_CHECK(src.n == 0 || out != nullptr, "out: is null");
  if (src.n == 0) return;
  FASTAUG_ROUTE(src, "channel_mean",
                dispatch_channels(src.c,
                                  [&](auto ch) {
                                    constexpr int C = decltype(ch)::value;
                                    if (src.dtype == DType::UInt8)
                                      channel_mean_cpu<uint8_t, C, kMeanLanesU8, uint32_t, uint64_t>(src, out);
                                    else
                                      channel_mean_cpu<float, C, kMeanLanesF32, double, double>(src, out);
                                  }),
                cuda::channel_mean(src, out, stream));
}

void hue_shift(const ImageView& src, const ImageView& dst, const double* hue, [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_same(src, dst);
  FASTAUG_CHECK(src.n == 0 || hue != nullptr, "hue: is null");
  std::vector<float> h(static_cast<size_t>(src.n));
  for (int64_t n = 0; n < src.n; ++n) {
    FASTAUG_CHECK(hue[n] >= -0.5 && hue[n] <= 0.5, "hue: expected values in [-0.5, 0.5] (a fraction of a turn), got ",
                  hue[n], " for sample ", n);
    h[static_cast<size_t>(n)] = static_cast<float>(hue[n]);
  }
  if (dst.empty()) return;
  FASTAUG_ROUTE(src, "hue_shift",
                dispatch_dtype(src.dtype,
                               [&](auto t) {
                                 dispatch_channels(src.c, [&](auto ch) {
                                   hue_rows<decltype(t), decltype(ch)::value>(src, dst, h.data());
                                 });
                               }),
                cuda::hue_shift(src, dst, h.data(), stream));
}

}  // namespace fastaug
