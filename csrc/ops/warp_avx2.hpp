// AVX2 path of warp_affine's and warp_perspective's nearest and bilinear uint8 (CPU only): 8 output pixels
// at a time, their taps fetched with gathers. It performs exactly the float operations of warp_pixel, in the
// same order and without FMA, so it gives the same bits as the scalar path and the other backends. Under a
// constant border with a whole-byte fill, taps outside the image are masked gathers of the fill; under
// replicate, reflect, reflect101 and wrap each tap's row and column are mapped into the image in the
// vector (map_border's formula within one reflection of the image); a group of 8 with a tap further away,
// a constant border with another fill near the edge, or a non-finite coordinate goes through the scalar
// warp_pixel.
#pragma once
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "../common/cpu.hpp"
#include "warp_pixel.hpp"

#define FASTAUG_HAVE_WARP_AVX2 1

namespace fastaug::detail {

// Writes 8 pixels whose C bytes sit in the low bytes of each 32-bit lane: 4-byte stores (overlapping the
// next pixel, which is written after) where they stay inside the 8 pixels, C-byte stores after that.
template <int C>
__attribute__((target("avx2"))) inline void store_pixels(__m256i px, uint8_t* out) {
  alignas(32) uint32_t v[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(v), px);
  constexpr int wide = (8 * C - 4) / C + 1;  // pixels k with k*C + 4 <= 8*C
  for (int k = 0; k < wide; ++k) std::memcpy(out + k * C, &v[k], 4);
  for (int k = wide; k < 8; ++k) std::memcpy(out + k * C, &v[k], C);
}

// Channel byte of each 32-bit lane as float (a function, not a lambda: lambdas do not inherit target("avx2")).
__attribute__((target("avx2"))) inline __m256 channel_as_float(__m256i t, __m128i shift) {
  return _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srl_epi32(t, shift), _mm256_set1_epi32(0xff)));
}

// map_border(i, n, border) for 8 lanes, for the borders that map into the image: `ok` clears the lanes
// beyond one reflection (or wrap) of the image, where map_border would fold more than once.
__attribute__((target("avx2"))) inline __m256i map_lanes(__m256i i, int n, Border border, __m256i& ok) {
  const __m256i zero = _mm256_setzero_si256(), nv = _mm256_set1_epi32(n), last = _mm256_set1_epi32(n - 1);
  const __m256i below = _mm256_cmpgt_epi32(zero, i), above = _mm256_cmpgt_epi32(i, last);
  switch (border) {
    case Border::Replicate:
      return _mm256_min_epi32(_mm256_max_epi32(i, zero), last);
    case Border::Reflect: {  // -1 - i below, 2n - 1 - i above; valid on [-n, 2n - 1]
      ok = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_sub_epi32(zero, nv), i), ok);
      ok = _mm256_andnot_si256(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(2 * n - 1)), ok);
      const __m256i lo = _mm256_sub_epi32(_mm256_set1_epi32(-1), i),
                    hi = _mm256_sub_epi32(_mm256_set1_epi32(2 * n - 1), i);
      return _mm256_blendv_epi8(_mm256_blendv_epi8(i, lo, below), hi, above);
    }
    case Border::Wrap: {  // i + n below, i - n above; valid on [-n, 2n - 1]
      ok = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_sub_epi32(zero, nv), i), ok);
      ok = _mm256_andnot_si256(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(2 * n - 1)), ok);
      return _mm256_blendv_epi8(_mm256_blendv_epi8(i, _mm256_add_epi32(i, nv), below), _mm256_sub_epi32(i, nv), above);
    }
    default: {  // Reflect101: -i below, 2n - 2 - i above; valid on [-(n - 1), 2n - 2]; n == 1 maps to 0
      if (n == 1) return zero;
      ok = _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_sub_epi32(zero, last), i), ok);
      ok = _mm256_andnot_si256(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(2 * n - 2)), ok);
      const __m256i lo = _mm256_sub_epi32(zero, i), hi = _mm256_sub_epi32(_mm256_set1_epi32(2 * n - 2), i);
      return _mm256_blendv_epi8(_mm256_blendv_epi8(i, lo, below), hi, above);
    }
  }
}

// Whether all 8 lanes' 2x2 taps lie inside the image (0 <= x0 <= w - 2, 0 <= y0 <= h - 2, finite, and the
// 4-byte gathers in bounds): the taps every border reads as they are.
__attribute__((target("avx2"))) inline bool all_interior(__m256i x0, __m256i y0, __m256i off, __m256i wmax,
                                                         __m256i hmax, __m256i last, __m256i finite) {
  const __m256i neg1 = _mm256_set1_epi32(-1);
  __m256i ok = _mm256_and_si256(_mm256_cmpgt_epi32(x0, neg1), _mm256_cmpgt_epi32(y0, neg1));
  ok = _mm256_andnot_si256(_mm256_cmpgt_epi32(x0, wmax), ok);
  ok = _mm256_andnot_si256(_mm256_cmpgt_epi32(y0, hmax), ok);
  ok = _mm256_andnot_si256(_mm256_cmpgt_epi32(off, last), ok);
  return _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_and_si256(ok, finite))) == 0xff;
}

// Processes pixels [0, w) of output row y; dst row is dense (C bytes a pixel). I: Nearest or Linear.
template <Interp I, int C, bool Perspective>
__attribute__((target("avx2"))) void warp_u8_row_avx2(const SrcImage<uint8_t, C, true>& s, const float* m, int64_t y,
                                                      Border border, const float* fill, uint8_t* row, int64_t w) {
  const __m256 m0 = _mm256_set1_ps(m[0]), m3 = _mm256_set1_ps(m[3]);
  const float fy = static_cast<float>(y);
  const __m256 m1y = _mm256_set1_ps(m[1] * fy), m4y = _mm256_set1_ps(m[4] * fy);
  const __m256 m2 = _mm256_set1_ps(m[2]), m5 = _mm256_set1_ps(m[5]);
  const __m256 m6 = _mm256_set1_ps(m[6]), m7y = _mm256_set1_ps(m[7] * fy), m8 = _mm256_set1_ps(m[8]);
  const __m256 lim = _mm256_set1_ps(4194304.f), nlim = _mm256_set1_ps(-4194304.f);
  const __m256 one = _mm256_set1_ps(1.f), zero = _mm256_setzero_ps(), top = _mm256_set1_ps(255.f);
  const __m256 magic = _mm256_set1_ps(12582912.f);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i hmax = _mm256_set1_epi32(static_cast<int>(s.h - 2)),
                wmax = _mm256_set1_epi32(static_cast<int>(s.w - 2));
  const __m256i sh = _mm256_set1_epi32(static_cast<int>(s.sh)), cstep = _mm256_set1_epi32(C);
  const __m256i neg1 = _mm256_set1_epi32(-1), neg2 = _mm256_set1_epi32(-2);
  const __m256i hlim = _mm256_set1_epi32(static_cast<int>(s.h)), wlim = _mm256_set1_epi32(static_cast<int>(s.w));
  // Gathers read 4 bytes at each tap: a tap whose 4 bytes would pass the image's last byte goes scalar.
  const __m256i end4 = _mm256_set1_epi32(static_cast<int>((s.h - 1) * s.sh + s.w * C - 4));
  const __m256i last = _mm256_sub_epi32(end4, _mm256_set1_epi32(static_cast<int>(s.sh + C)));
  // A constant border whose fill is C whole bytes: taps outside the image are gathered as the fill bytes
  // (masked gathers), which is what the scalar path sums for them, so border pixels stay vectorised too.
  bool masked = border == Border::Constant;
  uint32_t fill_bytes = 0;
  for (int c = 0; c < C; ++c) {
    masked = masked && fill[c] >= 0.f && fill[c] <= 255.f && fill[c] == static_cast<float>(static_cast<int>(fill[c]));
    if (masked) fill_bytes |= static_cast<uint32_t>(fill[c]) << (8 * c);
  }
  const __m256i fillv = _mm256_set1_epi32(static_cast<int>(fill_bytes));
  const int* base = reinterpret_cast<const int*>(s.data);
  int64_t x = 0;
  for (; x + 8 <= w; x += 8) {
    const __m256 fx = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(x)), lane));
    // as warp_pixel: m0 * fx + m1 * fy + m2, then clamp_coord
    __m256 sx = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(m0, fx), m1y), m2);
    __m256 sy = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(m3, fx), m4y), m5);
    if constexpr (Perspective) {  // as warp_pixel: 1 / wz, or 0 where wz == 0
      const __m256 wz = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(m6, fx), m7y), m8);
      const __m256 inv = _mm256_and_ps(_mm256_div_ps(one, wz), _mm256_cmp_ps(wz, zero, _CMP_NEQ_UQ));
      sx = _mm256_mul_ps(sx, inv);
      sy = _mm256_mul_ps(sy, inv);
    }
    // NaN coordinates take the scalar path (the clamp below would turn them into numbers)
    const __m256i finite =
        _mm256_castps_si256(_mm256_and_ps(_mm256_cmp_ps(sx, sx, _CMP_ORD_Q), _mm256_cmp_ps(sy, sy, _CMP_ORD_Q)));
    sx = _mm256_max_ps(_mm256_min_ps(sx, lim), nlim);
    sy = _mm256_max_ps(_mm256_min_ps(sy, lim), nlim);
    __m256i x0, y0;
    if constexpr (I == Interp::Nearest) {  // round half to even, as sample<Nearest>
      x0 = _mm256_cvttps_epi32(_mm256_sub_ps(_mm256_add_ps(sx, magic), magic));
      y0 = _mm256_cvttps_epi32(_mm256_sub_ps(_mm256_add_ps(sy, magic), magic));
    } else {  // fast_floor
      x0 = _mm256_cvttps_epi32(sx), y0 = _mm256_cvttps_epi32(sy);
      x0 = _mm256_add_epi32(x0, _mm256_castps_si256(_mm256_cmp_ps(_mm256_cvtepi32_ps(x0), sx, _CMP_GT_OQ)));
      y0 = _mm256_add_epi32(y0, _mm256_castps_si256(_mm256_cmp_ps(_mm256_cvtepi32_ps(y0), sy, _CMP_GT_OQ)));
    }
    // (wraps in int32 for far-away taps, which are masked out or sent to the scalar path below)
    const __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(y0, sh), _mm256_mullo_epi32(x0, cstep));
    constexpr int taps = I == Interp::Nearest ? 1 : 4;
    __m256i t[taps];
    if (masked) {
      // tap (i, j) of a lane is inside when 0 <= y0 + i < h and 0 <= x0 + j < w
      const __m256i in_x0 = _mm256_and_si256(_mm256_cmpgt_epi32(x0, neg1), _mm256_cmpgt_epi32(wlim, x0));
      const __m256i in_y0 = _mm256_and_si256(_mm256_cmpgt_epi32(y0, neg1), _mm256_cmpgt_epi32(hlim, y0));
      __m256i in[taps], at[taps];
      in[0] = _mm256_and_si256(in_x0, in_y0), at[0] = off;
      if constexpr (taps == 4) {
        // x0 + 1 inside: -2 < x0 < w - 1
        const __m256i in_x1 =
            _mm256_and_si256(_mm256_cmpgt_epi32(x0, neg2), _mm256_cmpgt_epi32(_mm256_add_epi32(wlim, neg1), x0));
        const __m256i in_y1 =
            _mm256_and_si256(_mm256_cmpgt_epi32(y0, neg2), _mm256_cmpgt_epi32(_mm256_add_epi32(hlim, neg1), y0));
        in[1] = _mm256_and_si256(in_x1, in_y0), at[1] = _mm256_add_epi32(off, cstep);
        in[2] = _mm256_and_si256(in_x0, in_y1), at[2] = _mm256_add_epi32(off, sh);
        in[3] = _mm256_and_si256(in_x1, in_y1), at[3] = _mm256_add_epi32(at[2], cstep);
      }
      __m256i scalar = _mm256_andnot_si256(finite, neg1);
      for (int k = 0; k < taps; ++k)
        scalar = _mm256_or_si256(scalar, _mm256_and_si256(in[k], _mm256_cmpgt_epi32(at[k], end4)));
      if (_mm256_movemask_ps(_mm256_castsi256_ps(scalar)) != 0) {
        for (int64_t k = x; k < x + 8; ++k) warp_pixel<I, Perspective>(s, m, k, y, border, fill, row + k * C, 1);
        continue;
      }
      for (int k = 0; k < taps; ++k) t[k] = _mm256_mask_i32gather_epi32(fillv, base, at[k], in[k], 1);
    } else if (border != Border::Constant && !all_interior(x0, y0, off, wmax, hmax, last, finite)) {
      // each tap's row and column mapped into the image, as sample's map_border (groups whose taps are all
      // inside take the interior path below: mapping would leave them where they are)
      __m256i ok = finite;
      __m256i xs[2], ys[2];
      xs[0] = map_lanes(x0, static_cast<int>(s.w), border, ok);
      ys[0] = map_lanes(y0, static_cast<int>(s.h), border, ok);
      if constexpr (taps == 4) {
        xs[1] = map_lanes(_mm256_sub_epi32(x0, neg1), static_cast<int>(s.w), border, ok);
        ys[1] = map_lanes(_mm256_sub_epi32(y0, neg1), static_cast<int>(s.h), border, ok);
      }
      __m256i at[taps];
      for (int k = 0; k < taps; ++k)
        at[k] = _mm256_add_epi32(_mm256_mullo_epi32(ys[k / 2], sh), _mm256_mullo_epi32(xs[k % 2], cstep));
      for (int k = 0; k < taps; ++k) ok = _mm256_andnot_si256(_mm256_cmpgt_epi32(at[k], end4), ok);
      if (_mm256_movemask_ps(_mm256_castsi256_ps(ok)) != 0xff) {
        for (int64_t k = x; k < x + 8; ++k) warp_pixel<I, Perspective>(s, m, k, y, border, fill, row + k * C, 1);
        continue;
      }
      for (int k = 0; k < taps; ++k) t[k] = _mm256_i32gather_epi32(base, at[k], 1);
    } else {
      // interior only: 0 <= x0 <= w - 2, 0 <= y0 <= h - 2, gathers in bounds; anything else is scalar
      if (!all_interior(x0, y0, off, wmax, hmax, last, finite)) {
        for (int64_t k = x; k < x + 8; ++k) warp_pixel<I, Perspective>(s, m, k, y, border, fill, row + k * C, 1);
        continue;
      }
      t[0] = _mm256_i32gather_epi32(base, off, 1);
      if constexpr (taps == 4) {
        t[1] = _mm256_i32gather_epi32(base, _mm256_add_epi32(off, cstep), 1);
        t[2] = _mm256_i32gather_epi32(base, _mm256_add_epi32(off, sh), 1);
        t[3] = _mm256_i32gather_epi32(base, _mm256_add_epi32(off, _mm256_add_epi32(sh, cstep)), 1);
      }
    }
    if constexpr (I == Interp::Nearest) {  // one tap of weight 1: the source bytes themselves
      store_pixels<C>(t[0], row + x * C);
      continue;
    } else {
      const __m256 tx = _mm256_sub_ps(sx, _mm256_cvtepi32_ps(x0)), ty = _mm256_sub_ps(sy, _mm256_cvtepi32_ps(y0));
      const __m256 wx0 = _mm256_sub_ps(one, tx), wy0 = _mm256_sub_ps(one, ty);
      const __m256 w00 = _mm256_mul_ps(wy0, wx0), w01 = _mm256_mul_ps(wy0, tx);
      const __m256 w10 = _mm256_mul_ps(ty, wx0), w11 = _mm256_mul_ps(ty, tx);
      __m256i packed = _mm256_setzero_si256();
      for (int c = 0; c < C; ++c) {
        const __m256i sc = _mm256_set1_epi64x(8 * c);  // shift count for channel c's byte
        const __m128i shift = _mm256_castsi256_si128(sc);
        __m256 acc = _mm256_mul_ps(w00, channel_as_float(t[0], shift));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(w01, channel_as_float(t[1], shift)));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(w10, channel_as_float(t[2], shift)));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(w11, channel_as_float(t[3], shift)));
        acc = _mm256_min_ps(_mm256_max_ps(acc, zero), top);  // saturate_cast<uint8_t>
        acc = _mm256_sub_ps(_mm256_add_ps(acc, magic), magic);
        packed = _mm256_or_si256(packed, _mm256_sll_epi32(_mm256_cvttps_epi32(acc), shift));
      }
      store_pixels<C>(packed, row + x * C);
    }
  }
  for (; x < w; ++x) warp_pixel<I, Perspective>(s, m, x, y, border, fill, row + x * C, 1);
}

}  // namespace fastaug::detail
#endif
