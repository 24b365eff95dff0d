// The planar CPU path of the warps (nearest and bilinear) and of their image backward: images whose rows are runs of
// one channel (an NCHW tensor seen channels-last: sw == 1, the channel stride a whole plane). A row is cut into
// chunks of pixels; for a chunk, pass 1 computes each output pixel's coordinate, window, tap weights and the plane
// offsets of its border-mapped taps once (warp_coord and window, the shared maths, in a loop the compiler
// vectorises); pass 2 then reads or writes the channels over the chunk: the forward gathers the taps and sums them
// (the operations and order of accumulate_taps; per channel with hardware gathers, or all channels of a pixel with
// scalar loads, whichever this CPU runs faster), the backward scatters each tap's weight times the gradient
// (warp_backward_pixel's adds, in its order for every value it touches). The channels of a pixel never mix, so any
// interleaving of the channels gives the generic loops' bits. The few pixels pass 1 does not map (a coordinate
// beyond 2^22 or NaN, a tap beyond one reflection or wrap of the image) take the generic per-pixel functions. A nearest
// warp by an integer shift skips both passes: its rows are shifted copies (warp_shift_row, and its backward).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
#include <immintrin.h>
#endif

#include "../common/hd.hpp"
#include "warp_pixel.hpp"

namespace fastaug::detail {

constexpr int kPlanarChunk = 128;

// A chunk's taps: per tap q = i * K + j of the window, each pixel's plane offset of its border-mapped tap (-1: the
// constant border's fill) and its weight wy[i] * wx[j]; whether pass 1 mapped the pixel (simple); the coordinates.
template <Interp I>
struct PlanarTaps {
  static constexpr int K = Window<I>::K, T = K * K;
  alignas(64) int32_t off[T][kPlanarChunk];
  alignas(64) float wgt[T][kPlanarChunk];
  alignas(64) int32_t simple[kPlanarChunk];
  alignas(64) float sx[kPlanarChunk], sy[kPlanarChunk];
};

// map_border(i, n, B) in selects that vectorise, for a tap within one reflection (or wrap) of the image; ok = 0
// beyond, where the result is not map_border's (the pixel then takes map_border itself). The constant border maps
// every tap: -1 outside. Valid results equal map_border's: reflect101 and reflect are symmetric (about 0 and -1/2),
// so |i| (-1 - i) is mapped as i; one reflection about the far edge then lands in [0, n) exactly where map_border
// does not fold again.
template <Border B>
FASTAUG_HD int32_t map_border_lane(int32_t i, int32_t n, int32_t& ok) {
  if constexpr (B == Border::Constant) {
    ok = 1;
    return (i >= 0) & (i < n) ? i : -1;
  } else if constexpr (B == Border::Replicate) {
    ok = 1;
    return i < 0 ? 0 : (i >= n ? n - 1 : i);
  } else {
    int32_t r;
    if constexpr (B == Border::Reflect101) {
      r = i < 0 ? -i : i;
      r = r >= n ? 2 * n - 2 - r : r;
    } else if constexpr (B == Border::Reflect) {
      r = i < 0 ? -1 - i : i;
      r = r >= n ? 2 * n - 1 - r : r;
    } else {  // wrap
      r = i < 0 ? i + n : (i >= n ? i - n : i);
    }
    ok = (r >= 0) & (r < n);
    return r;
  }
}

// Pass 1 for pixels x0 .. x0 + count - 1 of output row y (count <= kPlanarChunk), on a plane of h x w pixels with
// row stride sh. The window comes from the unclamped coordinates (window_clamped: clamp_coord's selects stop the
// loop from vectorising), which is window's result wherever |coordinate| <= 2^22; a pixel beyond, or NaN, is not
// simple. Clones for AVX-512, AVX2 and SSE2 with the same float operations in each.
template <Interp I, bool Perspective, Border B>
FASTAUG_CPU_CLONES void planar_window(const float* __restrict m, int32_t y, int32_t x0, int count, int32_t h, int32_t w,
                                      int32_t sh, PlanarTaps<I>* __restrict t) {
  constexpr int K = Window<I>::K;
  const float lim = 4194304.f;  // clamp_coord's 2^22
  float mm[9];
  for (int q = 0; q < 9; ++q) mm[q] = m[q];
  const float fy = static_cast<float>(y);
  for (int k = 0; k < count; ++k) {
    const WarpCoord p = warp_coord_f<Perspective>(mm, static_cast<float>(x0 + k), fy);
    const Window<I> win = window_clamped<I>(p.sy, p.sx);
    t->sx[k] = p.sx;
    t->sy[k] = p.sy;
    const int32_t in_range = (p.sx >= -lim) & (p.sx <= lim) & (p.sy >= -lim) & (p.sy <= lim);  // 0 for NaN
    const int32_t wy0 = win.y0 & -in_range, wx0 = win.x0 & -in_range;  // 0 where not in range: no overflow below
    int32_t yy[K], xx[K], oky[K], okx[K], ok = in_range;
    for (int i = 0; i < K; ++i) yy[i] = map_border_lane<B>(wy0 + i, h, oky[i]), ok &= oky[i];
    for (int j = 0; j < K; ++j) xx[j] = map_border_lane<B>(wx0 + j, w, okx[j]), ok &= okx[j];
    t->simple[k] = ok;
    for (int i = 0; i < K; ++i)
      for (int j = 0; j < K; ++j) {
        // unsigned: wraps (harmlessly) for the pixels that are not simple, whose offsets are not used
        const int32_t o = static_cast<int32_t>(static_cast<uint32_t>(yy[i]) * static_cast<uint32_t>(sh) +
                                               static_cast<uint32_t>(xx[j]));
        t->off[i * K + j][k] = (yy[i] | xx[j]) < 0 ? -1 : o;
        t->wgt[i * K + j][k] = win.wy[i] * win.wx[j];
      }
  }
}

// The backward's taps of a pixel that is not simple, from window (clamped) and map_border: each tap's plane offset,
// -1 for the constant border's fill; every offset -1 for a NaN coordinate (warp_backward_pixel skips it).
template <Interp I>
inline void planar_generic_taps(PlanarTaps<I>& t, int k, int64_t h, int64_t w, int64_t sh, Border border) {
  constexpr int K = Window<I>::K;
  const float sx = t.sx[k], sy = t.sy[k];
  if (!(sx == sx && sy == sy)) {
    for (int q = 0; q < K * K; ++q) t.off[q][k] = -1;
    return;
  }
  const Window<I> win = window<I>(sy, sx);
  int64_t yy[K], xx[K];
  for (int i = 0; i < K; ++i) yy[i] = map_border(int64_t(win.y0) + i, h, border);
  for (int j = 0; j < K; ++j) xx[j] = map_border(int64_t(win.x0) + j, w, border);
  for (int i = 0; i < K; ++i)
    for (int j = 0; j < K; ++j) {
      t.off[i * K + j][k] = yy[i] < 0 || xx[j] < 0 ? -1 : static_cast<int32_t>(yy[i] * sh + xx[j]);
      t.wgt[i * K + j][k] = win.wy[i] * win.wx[j];
    }
}

// Pass 2 of the forward for one channel: out[k] = the sum over the taps, in window order, of weight * value (fill
// for an offset of -1), from 0 (accumulate_taps' sums), stored as T. The gather reads offset 0 for a fill tap.
template <class T, int Taps>
FASTAUG_CPU_CLONES void planar_gather(const T* __restrict plane, const int32_t (*__restrict off)[kPlanarChunk],
                                      const float (*__restrict wgt)[kPlanarChunk], int count, float fill,
                                      T* __restrict out) {
  for (int k = 0; k < count; ++k) {
    float acc = 0.f;
    for (int q = 0; q < Taps; ++q) {
      const int32_t o = off[q][k];
      const float v = static_cast<float>(plane[o < 0 ? 0 : o]);
      acc += wgt[q][k] * (o < 0 ? fill : v);
    }
    out[k] = saturate_cast<T>(acc);
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
// planar_gather for float32 with the hardware gathers (GCC 12's generic tuning turns the vectorised loop's gathers into
// scalar loads): the same multiplies and adds, in the same order, no FMA. A fill tap is a masked-off lane that keeps
// the fill.
template <int Taps>
__attribute__((target("avx512f"))) void planar_gather_avx512(const float* plane, const int32_t (*off)[kPlanarChunk],
                                                             const float (*wgt)[kPlanarChunk], int count, float fill,
                                                             float* out) {
  const __m512 f = _mm512_set1_ps(fill);
  const __m512i zero = _mm512_setzero_si512();
  for (int k = 0; k < count; k += 16) {
    const __mmask16 live = count - k >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (count - k)) - 1);
    __m512 acc = _mm512_setzero_ps();
    for (int q = 0; q < Taps; ++q) {
      const __m512i o = _mm512_maskz_loadu_epi32(live, off[q] + k);
      const __m512 v = _mm512_mask_i32gather_ps(f, _mm512_mask_cmpge_epi32_mask(live, o, zero), o, plane, 4);
      acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_maskz_loadu_ps(live, wgt[q] + k), v));
    }
    _mm512_mask_storeu_ps(out + k, live, acc);
  }
}

template <int Taps>
__attribute__((target("avx2"))) void planar_gather_avx2(const float* plane, const int32_t (*off)[kPlanarChunk],
                                                        const float (*wgt)[kPlanarChunk], int count, float fill,
                                                        float* out) {
  const __m256 f = _mm256_set1_ps(fill);
  const __m256i minus1 = _mm256_set1_epi32(-1);
  int k = 0;
  for (; k + 8 <= count; k += 8) {
    __m256 acc = _mm256_setzero_ps();
    for (int q = 0; q < Taps; ++q) {
      const __m256i o = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(off[q] + k));
      const __m256 in = _mm256_castsi256_ps(_mm256_cmpgt_epi32(o, minus1));
      const __m256 v = _mm256_mask_i32gather_ps(f, plane, o, in, 4);
      acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(wgt[q] + k), v));
    }
    _mm256_storeu_ps(out + k, acc);
  }
  for (; k < count; ++k) {
    float acc = 0.f;
    for (int q = 0; q < Taps; ++q) {
      const int32_t o = off[q][k];
      acc += wgt[q][k] * (o < 0 ? fill : plane[o]);
    }
    out[k] = acc;
  }
}

// 2: AVX-512F, 1: AVX2, 0: neither (the compiler's loop).
inline int planar_gather_isa() {
  static const int isa = __builtin_cpu_supports("avx512f") ? 2 : (__builtin_cpu_supports("avx2") ? 1 : 0);
  return isa;
}
#define FASTAUG_HAVE_PLANAR_GATHER 1
#endif

// Pass 2 of the forward for one channel, by the fastest of the paths above (all give the same bits).
template <class T, int Taps>
inline void planar_gather_best(const T* plane, const int32_t (*off)[kPlanarChunk], const float (*wgt)[kPlanarChunk],
                               int count, float fill, T* out) {
#ifdef FASTAUG_HAVE_PLANAR_GATHER
  if constexpr (std::is_same_v<T, float>) {
    const int isa = planar_gather_isa();
    if (isa == 2) return planar_gather_avx512<Taps>(plane, off, wgt, count, fill, out);
    if (isa == 1) return planar_gather_avx2<Taps>(plane, off, wgt, count, fill, out);
  }
#endif
  planar_gather<T, Taps>(plane, off, wgt, count, fill, out);
}

// Pass 2 of the float32 forward for all C channels of pixels first .. count - 1 of a chunk, with scalar loads: a
// pixel's offsets and weights are read once for its C values, and nothing depends on the previous pixel.
// planar_gather's operations for every value (from +0, taps in window order, no FMA), so the same bits as the
// hardware gathers above, which some CPUs microcode per element (AMD Zen 3: three times slower than these loads).
template <int Taps, int C>
void planar_gather_channels(const float* __restrict plane, int64_t sc, const int32_t (*__restrict off)[kPlanarChunk],
                            const float (*__restrict wgt)[kPlanarChunk], int first, int count,
                            const float* __restrict fill, float* __restrict out, int64_t dsc) {
  for (int k = first; k < count; ++k) {
    float acc[C];
    for (int c = 0; c < C; ++c) acc[c] = 0.f;
    for (int q = 0; q < Taps; ++q) {
      const int32_t o = off[q][k];
      const float wq = wgt[q][k];
      const int32_t at = o < 0 ? 0 : o;
      for (int c = 0; c < C; ++c) {
        const float v = plane[c * sc + at];
        acc[c] += wq * (o < 0 ? fill[c] : v);
      }
    }
    for (int c = 0; c < C; ++c) out[c * dsc + k] = acc[c];
  }
}

#ifdef FASTAUG_HAVE_PLANAR_GATHER
// planar_gather_channels for the bilinear window (taps (x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)),
// eight pixels at a time where all eight read two horizontal pairs of the image (off[1] == off[0] + 1, off[3] ==
// off[2] + 1, no fill: every pixel whose window lies inside the image): each pair is one 64-bit load, and two
// shuffles sort a row's eight pairs into one vector per tap. Half the loads of the scalar loop and none of the
// gathers' microcode; the same multiplies and adds in the same order (from +0, taps in window order, no FMA), so
// the same bits. The other pixels of a run (at the image's edges) are redone by planar_gather_channels, as are
// runs without such a pixel and the last pixels of a chunk.
// Pixels i and j's pairs at offsets oi and oj of p in one register (a_i, b_i, a_j, b_j), the bits as in memory.
__attribute__((target("avx2"))) inline __m128 planar_two_pairs(const float* p, int32_t oi, int32_t oj) {
  const __m128 lo = _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + oi)));
  return _mm_loadh_pi(lo, reinterpret_cast<const __m64*>(p + oj));
}

// acc + w_left * (the eight pixels' left taps) + w_right * (their right taps), for the pairs at offsets o[0..7].
__attribute__((target("avx2"))) inline __m256 planar_add_pair_row(__m256 acc, const float* p, const int32_t* o,
                                                                  __m256 w_left, __m256 w_right) {
  const __m256 lo = _mm256_set_m128(planar_two_pairs(p, o[4], o[5]), planar_two_pairs(p, o[0], o[1]));  // 0 1 | 4 5
  const __m256 hi = _mm256_set_m128(planar_two_pairs(p, o[6], o[7]), planar_two_pairs(p, o[2], o[3]));  // 2 3 | 6 7
  acc = _mm256_add_ps(acc, _mm256_mul_ps(w_left, _mm256_shuffle_ps(lo, hi, 0x88)));
  return _mm256_add_ps(acc, _mm256_mul_ps(w_right, _mm256_shuffle_ps(lo, hi, 0xdd)));
}

template <int C>
__attribute__((target("avx2"))) void planar_gather_pairs_avx2(const float* plane, int64_t sc,
                                                              const int32_t (*off)[kPlanarChunk],
                                                              const float (*wgt)[kPlanarChunk], int count,
                                                              const float* fill, float* out, int64_t dsc) {
  const __m256i one = _mm256_set1_epi32(1);
  int k = 0;
  for (; k + 8 <= count; k += 8) {
    const __m256i o0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(off[0] + k));
    const __m256i o1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(off[1] + k));
    const __m256i o2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(off[2] + k));
    const __m256i o3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(off[3] + k));
    const __m256i pairs = _mm256_and_si256(_mm256_cmpeq_epi32(o1, _mm256_add_epi32(o0, one)),
                                           _mm256_cmpeq_epi32(o3, _mm256_add_epi32(o2, one)));
    const int inside = _mm256_movemask_ps(_mm256_castsi256_ps(pairs)) &
                       ~_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_or_si256(o0, o2)));  // sign: a fill tap
    if (inside == 0) {
      planar_gather_channels<4, C>(plane, sc, off, wgt, k, k + 8, fill, out, dsc);
      continue;
    }
    alignas(32) int32_t top[8], bottom[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(top), o0);
    _mm256_store_si256(reinterpret_cast<__m256i*>(bottom), o2);
    const int lane = __builtin_ctz(static_cast<unsigned>(inside));
    for (int i = 0; i < 8; ++i)  // the other pixels read a valid pair here and are redone below
      if (!(inside >> i & 1)) top[i] = top[lane], bottom[i] = bottom[lane];
    const __m256 w0 = _mm256_loadu_ps(wgt[0] + k), w1 = _mm256_loadu_ps(wgt[1] + k);
    const __m256 w2 = _mm256_loadu_ps(wgt[2] + k), w3 = _mm256_loadu_ps(wgt[3] + k);
    for (int c = 0; c < C; ++c) {
      const float* p = plane + c * sc;
      const __m256 acc = planar_add_pair_row(_mm256_setzero_ps(), p, top, w0, w1);  // taps in window order
      _mm256_storeu_ps(out + c * dsc + k, planar_add_pair_row(acc, p, bottom, w2, w3));
    }
    for (int i = 0; i < 8; ++i)
      if (!(inside >> i & 1)) planar_gather_channels<4, C>(plane, sc, off, wgt, k + i, k + i + 1, fill, out, dsc);
  }
  planar_gather_channels<4, C>(plane, sc, off, wgt, k, count, fill, out, dsc);
}
#endif

// Pass 2 of the float32 forward for all C channels of a chunk by loads, not gathers: planar_gather_pairs_avx2 for
// the bilinear window where the CPU has AVX2, else planar_gather_channels. The same bits either way.
template <int Taps, int C>
inline void planar_load_channels(const float* plane, int64_t sc, const int32_t (*off)[kPlanarChunk],
                                 const float (*wgt)[kPlanarChunk], int count, const float* fill, float* out,
                                 int64_t dsc) {
#ifdef FASTAUG_HAVE_PLANAR_GATHER
  if constexpr (Taps == 4) {
    if (planar_gather_isa() >= 1) return planar_gather_pairs_avx2<C>(plane, sc, off, wgt, count, fill, out, dsc);
  }
#endif
  planar_gather_channels<Taps, C>(plane, sc, off, wgt, 0, count, fill, out, dsc);
}

// Whether the hardware gathers (planar_gather_best) beat planar_load_channels on this CPU: timed once per process
// on a synthetic chunk (both give the same bits, so only speed depends on it); FASTAUG_PLANAR_GATHER=hardware or
// scalar forces one. Defined in warp.cpp.
bool planar_hw_gather_faster();

// Pass 2 of the backward, all C channels of a chunk: each tap of pixel k that reads the image takes weight * g[k],
// pixels in order and taps in window order (warp_backward_pixel's adds) within each channel's plane. Scatters collide
// (a pixel's taps are read back by the next pixel's adds), so this loop stays scalar; the C planes are independent
// chains of adds that the CPU overlaps, where one channel after the other waited on each store.
template <int Taps, int C>
inline void planar_scatter_channels(float* plane, int64_t sc, const int32_t (*off)[kPlanarChunk],
                                    const float (*wgt)[kPlanarChunk], int count, const float* g, int64_t gsc) {
  for (int k = 0; k < count; ++k) {
    float v[C];
    for (int c = 0; c < C; ++c) v[c] = g[c * gsc + k];
    for (int q = 0; q < Taps; ++q) {
      const int32_t o = off[q][k];
      if (o < 0) continue;
      const float wq = wgt[q][k];
      for (int c = 0; c < C; ++c) plane[c * sc + o] += wq * v[c];
    }
  }
}

// Whether a plane's taps are addressable by int32 offsets from its first pixel (rows forward, in bounds).
inline bool planar_addressable(int64_t h, int64_t w, int64_t sh) {
  return h > 0 && w > 0 && sh > 0 && (h - 1) * sh + w < (int64_t(1) << 31) - 1;
}

// Calls f(std::integral_constant<Border, B>) for the border.
template <class F>
void with_planar_border(Border border, F&& f) {
  switch (border) {
    case Border::Constant:
      return f(std::integral_constant<Border, Border::Constant>{});
    case Border::Replicate:
      return f(std::integral_constant<Border, Border::Replicate>{});
    case Border::Reflect:
      return f(std::integral_constant<Border, Border::Reflect>{});
    case Border::Wrap:
      return f(std::integral_constant<Border, Border::Wrap>{});
    case Border::Reflect101:
      return f(std::integral_constant<Border, Border::Reflect101>{});
  }
}

// Integer translations sampled by nearest (DiffAugment's translation; crops and pads written as warps): output pixel
// (x, y) reads source pixel (x + dx, y + dy), so a row is a shifted run of a source row with the border's values
// beside it. The chunked loops' values and sums exactly (0 + 1 * v per tap: -0 becomes +0 there too), without their
// per-pixel coordinates and offsets. Whether the inverse map m is such a shift, for output coordinates below `extent`:
// |dx|, |dy|, extent <= 2^21, so that every coordinate x + dx is an exact float within clamp_coord's 2^22.
inline bool integer_shift(const float* m, int64_t extent, int64_t& dx, int64_t& dy) {
  const float lim = 2097152.f;
  if (!(m[0] == 1.f && m[1] == 0.f && m[3] == 0.f && m[4] == 1.f && m[6] == 0.f && m[7] == 0.f && m[8] == 1.f))
    return false;
  if (!(std::fabs(m[2]) <= lim && std::fabs(m[5]) <= lim && std::floor(m[2]) == m[2] && std::floor(m[5]) == m[5]))
    return false;
  if (extent > int64_t(lim)) return false;
  dx = static_cast<int64_t>(m[2]);
  dy = static_cast<int64_t>(m[5]);
  return true;
}

// The output pixels [lo, hi) of a row of width dw shifted by dx that read inside a source row of width w.
inline void shift_span(int64_t dx, int64_t w, int64_t dw, int64_t& lo, int64_t& hi) {
  lo = std::clamp<int64_t>(-dx, 0, dw);
  hi = std::clamp<int64_t>(w - dx, lo, dw);
}

// Output row y of a nearest warp by the integer shift (dx, dy): warp_pixel's values, planes of T.
template <class T, int C>
void warp_shift_row(const SrcImage<T, C, false>& s, int64_t dx, int64_t dy, int64_t y, Border border, const float* fill,
                    T* row, int64_t dsc, int64_t dw) {
  const int64_t yy = map_border(y + dy, s.h, border);  // -1: the constant border's fill
  int64_t lo, hi;
  shift_span(dx, s.w, dw, lo, hi);
  if (yy < 0) lo = hi = 0;
  for (int c = 0; c < C; ++c) {
    T* out = row + c * dsc;
    const T* in = s.data + c * s.sc + (yy < 0 ? 0 : yy) * s.sh;
    const auto edge = [&](int64_t x) {
      const int64_t xx = yy < 0 ? -1 : map_border(x + dx, s.w, border);
      out[x] = saturate_cast<T>(0.f + 1.f * (xx < 0 ? fill[c] : static_cast<float>(in[xx])));
    };
    for (int64_t x = 0; x < lo; ++x) edge(x);
    for (int64_t x = lo; x < hi; ++x) out[x] = saturate_cast<T>(0.f + static_cast<float>(in[x + dx]));
    for (int64_t x = hi; x < dw; ++x) edge(x);
  }
}

// Rows y0 .. y1 - 1 of the image backward of a nearest integer shift with the constant border: each source pixel is
// read by one output pixel at most, so its gradient gets that pixel's (warp_backward_pixel's add of 1 * g).
template <int C>
void warp_backward_shift_rows(const float* grad, int64_t gsh, int64_t gsc, int64_t gw, int64_t y0, int64_t y1,
                              float* gi, int64_t h, int64_t w, int64_t sh, int64_t sc, int64_t dx, int64_t dy) {
  int64_t lo, hi;
  shift_span(dx, w, gw, lo, hi);
  for (int64_t y = std::max(y0, -dy); y < std::min(y1, h - dy); ++y)
    for (int c = 0; c < C; ++c) {
      const float* g = grad + y * gsh + c * gsc;
      float* out = gi + c * sc + (y + dy) * sh;
      for (int64_t x = lo; x < hi; ++x) out[x + dx] += 1.f * g[x];
    }
}

// One output row of a planar warp: C planes of T at s (h x w, row stride sh, channel stride sc) into `row` (element
// stride 1 along the row, dsc between channels), width dw. Pixels that are not simple are computed by warp_pixel on
// the strided view s (the generic path).
template <Interp I, bool Perspective, Border B, class T, int C>
void warp_planar_row(const SrcImage<T, C, false>& s, const float* m, int64_t y, const float* fill, T* row, int64_t dsc,
                     int64_t dw, bool hw_gather) {
  if constexpr (I == Interp::Nearest) {
    int64_t dx, dy;
    if (integer_shift(m, std::max<int64_t>(dw, y + 1), dx, dy))
      return warp_shift_row<T, C>(s, dx, dy, y, B, fill, row, dsc, dw);
  }
  PlanarTaps<I> t;
  int32_t generic[kPlanarChunk];
  constexpr int Taps = PlanarTaps<I>::T;
  for (int64_t x0 = 0; x0 < dw; x0 += kPlanarChunk) {
    const int count = static_cast<int>(dw - x0 < kPlanarChunk ? dw - x0 : kPlanarChunk);
    planar_window<I, Perspective, B>(m, static_cast<int32_t>(y), static_cast<int32_t>(x0), count,
                                     static_cast<int32_t>(s.h), static_cast<int32_t>(s.w), static_cast<int32_t>(s.sh),
                                     &t);
    int ng = 0;
    for (int k = 0; k < count; ++k) {
      if (t.simple[k]) continue;
      generic[ng++] = k;
      for (int q = 0; q < Taps; ++q) t.off[q][k] = 0;  // a valid read for pass 2; warp_pixel replaces the value
    }
    if (std::is_same_v<T, float> && !hw_gather)
      planar_load_channels<Taps, C>(reinterpret_cast<const float*>(s.data), s.sc, t.off, t.wgt, count, fill,
                                    reinterpret_cast<float*>(row) + x0, dsc);
    else
      for (int c = 0; c < C; ++c)
        planar_gather_best<T, Taps>(s.data + c * s.sc, t.off, t.wgt, count, fill[c], row + c * dsc + x0);
    for (int q = 0; q < ng; ++q)
      warp_pixel<I, Perspective>(s, m, x0 + generic[q], y, B, fill, row + x0 + generic[q], dsc);
  }
}

// Output rows y0 .. y1 - 1 of one sample of a planar warp's image backward: grad rows of width gw (element stride
// 1, channel stride gsc, row stride gsh) scattered into C planes of h x w floats (row stride sh, channel stride sc)
// that hold this task's sums.
template <Interp I, bool Perspective, Border B, int C>
void warp_backward_planar_rows(const float* grad, int64_t gsh, int64_t gsc, int64_t gw, int64_t y0, int64_t y1,
                               float* gi, int64_t h, int64_t w, int64_t sh, int64_t sc, const float* m) {
  if constexpr (I == Interp::Nearest && B == Border::Constant) {
    int64_t dx, dy;
    if (integer_shift(m, std::max(gw, y1), dx, dy))
      return warp_backward_shift_rows<C>(grad, gsh, gsc, gw, y0, y1, gi, h, w, sh, sc, dx, dy);
  }
  PlanarTaps<I> t;
  constexpr int Taps = PlanarTaps<I>::T;
  for (int64_t y = y0; y < y1; ++y) {
    for (int64_t x0 = 0; x0 < gw; x0 += kPlanarChunk) {
      const int count = static_cast<int>(gw - x0 < kPlanarChunk ? gw - x0 : kPlanarChunk);
      planar_window<I, Perspective, B>(m, static_cast<int32_t>(y), static_cast<int32_t>(x0), count,
                                       static_cast<int32_t>(h), static_cast<int32_t>(w), static_cast<int32_t>(sh), &t);
      for (int k = 0; k < count; ++k)
        if (!t.simple[k]) planar_generic_taps<I>(t, k, h, w, sh, B);
      planar_scatter_channels<Taps, C>(gi, sc, t.off, t.wgt, count, grad + y * gsh + x0, gsc);
    }
  }
}

}  // namespace fastaug::detail
