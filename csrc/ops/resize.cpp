// resize (CPU): cv::resize's method for the case (resize_method), its per-axis tap tables, then two passes
// per block of output rows: the horizontal sums of every source row the block needs, once each, then the
// vertical sums of each output row. The formulas are resize_pixel.hpp's; only the order of the loops
// differs from the per-pixel version that the CUDA kernel runs, so the bits are the same.
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <type_traits>
#include <vector>

#include "../common/cpu.hpp"
#include "../common/dispatch.hpp"
#include "../common/parallel.hpp"
#include "backend.hpp"
#include "fastaug/geometry.hpp"
#include "resize_pixel.hpp"

namespace fastaug {
namespace detail {
namespace {

constexpr int64_t kResizeBlockRows = 32;  // output rows per task

struct Table {
  std::vector<int64_t> index;
  std::vector<float> weight;
  std::vector<int32_t> q;
  int taps = 1;
  AxisTaps view() const { return {index.data(), weight.data(), q.data(), taps}; }
};

// The tables of one axis (src_len -> dst_len): axis_taps() for every output index.
Table make_table(int64_t src_len, int64_t dst_len, const ResizeMethod& m, bool columns) {
  Table t;
  t.taps = axis_tap_count(src_len, dst_len, m.interp, m.area_down);
  for (int64_t d = 0; d < dst_len; ++d) {
    const int used = axis_taps(d, src_len, dst_len, m, columns, [&](int64_t i, float w) {
      t.index.push_back(i);
      t.weight.push_back(w);
      t.q.push_back(resize_q11(w));
    });
    if (used != t.taps) fail("resize: internal table error (", used, " taps, expected ", t.taps, ")");
  }
  return t;
}

// The source rows [first, last] that output rows [y0, y1) read (tap indices grow with the output row).
std::pair<int64_t, int64_t> source_rows(const AxisTaps& ty, int64_t y0, int64_t y1) {
  const int64_t* first = ty.index + y0 * ty.taps;
  const int64_t* last = ty.index + y1 * ty.taps;
  return {*std::min_element(first, first + ty.taps), *std::max_element(last - ty.taps, last)};
}

// Horizontal sums of one source row into out[dst.w * C], in the per-pixel formula's order.
template <class T, int C, bool Dense>
FASTAUG_CPU_CLONES void separable_row(const T* row, int64_t sw, int64_t sc, const AxisTaps& tx, int64_t dw,
                                      float* out) {
  const int64_t xs = Dense ? C : sw, cs = Dense ? 1 : sc;
  for (int64_t x = 0; x < dw; ++x) {
    float part[C] = {};
    for (int j = 0; j < tx.taps; ++j) {
      const float w = tx.weight[x * tx.taps + j];
      const T* p = row + tx.index[x * tx.taps + j] * xs;
      for (int c = 0; c < C; ++c) part[c] += w * static_cast<float>(p[c * cs]);
    }
    for (int c = 0; c < C; ++c) out[x * C + c] = part[c];
  }
}

template <int C, bool Dense>
FASTAUG_CPU_CLONES void fixed_row(const uint8_t* row, int64_t sw, int64_t sc, const AxisTaps& tx, int64_t x0,
                                  int64_t x1, int16_t* out) {
  const int64_t xs = Dense ? C : sw, cs = Dense ? 1 : sc;
  for (int64_t x = x0; x < x1; ++x) {
    const uint8_t* p0 = row + tx.index[2 * x] * xs;
    const uint8_t* p1 = row + tx.index[2 * x + 1] * xs;
    const int32_t q0 = tx.q[2 * x], q1 = tx.q[2 * x + 1];
    for (int c = 0; c < C; ++c) out[x * C + c] = resize_q_row(p0[c * cs], p1[c * cs], q0, q1);
  }
}

// fixed_row on a dense row, the interior pixels (taps on neighbouring pixels) with 128-bit vectors: the
// 8 bytes from the left tap hold both pixels' channels; a shuffle pairs each channel's two values as
// 16-bit lanes and one multiply-add of pairs (pmaddwd) forms the C sums. The same integers as
// resize_q_row, so the same bits. Writes 4 lanes per pixel: `out` has 4 - C values of slack.
typedef int8_t v16qi __attribute__((vector_size(16)));
typedef int16_t v8hi __attribute__((vector_size(16)));
typedef int32_t v4si __attribute__((vector_size(16)));
typedef int64_t v2di __attribute__((vector_size(16)));

struct PairWeights {
  std::vector<v8hi> w;                 // per output pixel: (q0, q1) repeated
  int64_t vec_begin = 0, vec_end = 0;  // pixels [vec_begin, vec_end) take the vector path
};

template <int C>
PairWeights pair_weights(const AxisTaps& tx, int64_t dw, int64_t src_w) {
  PairWeights p;
  p.w.resize(dw);
  bool open = false;
  for (int64_t x = 0; x < dw; ++x) {
    const int16_t q0 = static_cast<int16_t>(tx.q[2 * x]), q1 = static_cast<int16_t>(tx.q[2 * x + 1]);
    p.w[x] = v8hi{q0, q1, q0, q1, q0, q1, q0, q1};
    // vector path: the right tap is the next pixel and the 8-byte load stays inside the row
    const bool ok = tx.index[2 * x + 1] == tx.index[2 * x] + 1 && tx.index[2 * x] * C + 8 <= src_w * C;
    if (ok && !open) p.vec_begin = x, open = true;
    if (!ok && open && p.vec_end == 0) p.vec_end = x;
  }
  if (open && p.vec_end == 0) p.vec_end = dw;
  for (int64_t x = p.vec_begin; x < p.vec_end; ++x)  // the run must be unbroken
    if (!(tx.index[2 * x + 1] == tx.index[2 * x] + 1 && tx.index[2 * x] * C + 8 <= src_w * C)) p.vec_end = x;
  return p;
}

template <int C>
FASTAUG_CPU_CLONES void fixed_row_vec(const uint8_t* row, const AxisTaps& tx, const PairWeights& pw, int64_t x0,
                                      int64_t x1, int16_t* out) {
  constexpr int z = 16;  // an index into the zero vector
  const v16qi zero = {};
  const v16qi pairs = C == 1   ? v16qi{0, z, 1, z, z, z, z, z, z, z, z, z, z, z, z, z}
                      : C == 3 ? v16qi{0, z, 3, z, 1, z, 4, z, 2, z, 5, z, z, z, z, z}
                               : v16qi{0, z, 4, z, 1, z, 5, z, 2, z, 6, z, 3, z, 7, z};
  for (int64_t x = x0; x < x1; ++x) {
    int64_t bytes;
    std::memcpy(&bytes, row + tx.index[2 * x] * C, 8);
    const v16qi v = reinterpret_cast<v16qi>(v2di{bytes, 0});
    const v8hi values = reinterpret_cast<v8hi>(__builtin_shuffle(v, zero, pairs));
    const v4si sums = __builtin_ia32_pmaddwd128(values, pw.w[x]) >> 4;
    const int16_t shifted[4] = {static_cast<int16_t>(sums[0]), static_cast<int16_t>(sums[1]),
                                static_cast<int16_t>(sums[2]), static_cast<int16_t>(sums[3])};
    std::memcpy(out + x * C, shifted, sizeof(shifted));
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
// The same with AVX2, two output pixels a vector (one per 128-bit lane, the same shuffle and pmaddwd in
// each), for CPUs that have it (taken at run time: the x86-64 baseline has neither pshufb nor 256-bit lanes).
template <int C>
__attribute__((target("avx2"))) void fixed_row_avx2(const uint8_t* row, const AxisTaps& tx, const PairWeights& pw,
                                                    int16_t* out) {
  constexpr char z = -128;  // pshufb: a zero byte
  const __m128i pairs = C == 1   ? _mm_setr_epi8(0, z, 1, z, z, z, z, z, z, z, z, z, z, z, z, z)
                        : C == 3 ? _mm_setr_epi8(0, z, 3, z, 1, z, 4, z, 2, z, 5, z, z, z, z, z)
                                 : _mm_setr_epi8(0, z, 4, z, 1, z, 5, z, 2, z, 6, z, 3, z, 7, z);
  const __m256i shuffle = _mm256_broadcastsi128_si256(pairs);
  int64_t x = pw.vec_begin;
  for (; x + 2 <= pw.vec_end; x += 2) {
    const __m128i a = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + tx.index[2 * x] * C));
    const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + tx.index[2 * x + 2] * C));
    const __m256i values = _mm256_shuffle_epi8(_mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1), shuffle);
    const __m256i weights = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&pw.w[x]));
    const __m256i sums = _mm256_srai_epi32(_mm256_madd_epi16(values, weights), 4);
    const __m256i packed = _mm256_packs_epi32(sums, sums);  // each lane: its 4 sums as int16, twice
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + x * C), _mm256_castsi256_si128(packed));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + (x + 1) * C), _mm256_extracti128_si256(packed, 1));
  }
  fixed_row_vec<C>(row, tx, pw, x, pw.vec_end, out);  // an odd pixel left: the 128-bit version
}

#define FASTAUG_HAVE_RESIZE_AVX2 1
#endif

// Stores a finished row of dst.w * C values (channels-last) into the strided output row (n, y).
template <class T>
void store_row(const ImageView& dst, int64_t n, int64_t y, const T* values) {
  T* d = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
  for (int64_t x = 0; x < dst.w; ++x)
    for (int64_t c = 0; c < dst.c; ++c) d[x * dst.sw + c * dst.sc] = values[x * dst.c + c];
}

template <class T>
FASTAUG_CPU_CLONES void vertical_separable(const float* rows, const int64_t* index, const float* weight, int taps,
                                           int64_t first, int64_t len, float* acc, T* out) {
  for (int64_t i = 0; i < len; ++i) acc[i] = 0.f;
  for (int k = 0; k < taps; ++k) {
    const float* r = rows + (index[k] - first) * len;
    const float w = weight[k];
    for (int64_t i = 0; i < len; ++i) acc[i] += w * r[i];
  }
  for (int64_t i = 0; i < len; ++i) out[i] = saturate_cast<T>(acc[i]);
}

FASTAUG_CPU_CLONES void vertical_fixed(const int16_t* r0, const int16_t* r1, int16_t b0, int16_t b1, int64_t len,
                                       uint8_t* out) {
  for (int64_t i = 0; i < len; ++i) out[i] = resize_q_out(r0[i], r1[i], b0, b1);
}

// A: the horizontal sums' type (float, or int16 for fixed point: the sums >> 4).
template <class T, class A, int C>
void two_pass(const ImageView& src, const ImageView& dst, const AxisTaps& ty, const AxisTaps& tx) {
  const int64_t len = dst.w * C;
  PairWeights pw;
  if constexpr (std::is_same_v<A, int16_t>) pw = pair_weights<C>(tx, dst.w, src.w);
  parallel_blocks(dst.n, dst.h, kResizeBlockRows, [&](int64_t n, int64_t y0, int64_t y1) {
    const auto [first, last] = source_rows(ty, y0, y1);
    const auto rows = scratch<A>((last - first + 1) * len + 4);  // + the vector stores' slack
    const auto acc = scratch<float>(len);
    const auto out = scratch<T>(len);
    const T* s = static_cast<const T*>(src.data) + n * src.sn;
    const bool dense = src.rows_dense();
    for (int64_t r = first; r <= last; ++r) {
      A* h = &rows[(r - first) * len];
      if constexpr (std::is_same_v<A, float>) {
        if (dense)
          separable_row<T, C, true>(s + r * src.sh, src.sw, src.sc, tx, dst.w, h);
        else
          separable_row<T, C, false>(s + r * src.sh, src.sw, src.sc, tx, dst.w, h);
      } else if (dense) {
        const uint8_t* row = s + r * src.sh;
        fixed_row<C, true>(row, src.sw, src.sc, tx, 0, pw.vec_begin, h);
#ifdef FASTAUG_HAVE_RESIZE_AVX2
        if (cpu_has_avx2())
          fixed_row_avx2<C>(row, tx, pw, h);
        else
#endif
          fixed_row_vec<C>(row, tx, pw, pw.vec_begin, pw.vec_end, h);
        fixed_row<C, true>(row, src.sw, src.sc, tx, pw.vec_end, dst.w, h);
      } else {
        fixed_row<C, false>(s + r * src.sh, src.sw, src.sc, tx, 0, dst.w, h);
      }
    }
    for (int64_t y = y0; y < y1; ++y) {
      const int64_t* iy = ty.index + y * ty.taps;
      // a dense output row is written in place, others through `out`
      T* o = dst.rows_dense() ? static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh : out.get();
      if constexpr (std::is_same_v<A, float>)
        vertical_separable<T>(rows.get(), iy, ty.weight + y * ty.taps, ty.taps, first, len, acc.get(), o);
      else
        vertical_fixed(&rows[(iy[0] - first) * len], &rows[(iy[1] - first) * len], static_cast<int16_t>(ty.q[2 * y]),
                       static_cast<int16_t>(ty.q[2 * y + 1]), len, o);
      if (!dst.rows_dense()) store_row<T>(dst, n, y, out.get());
    }
  });
}

// Nearest: every output pixel is one source pixel, copied.
template <class T, int C>
void nearest_cpu(const ImageView& src, const ImageView& dst, const AxisTaps& ty, const AxisTaps& tx) {
  parallel_rows(dst.n, dst.h, [&](int64_t n, int64_t y) {
    const T* row = static_cast<const T*>(src.data) + n * src.sn + ty.index[y] * src.sh;
    T* d = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
    for (int64_t x = 0; x < dst.w; ++x) {
      const T* p = row + tx.index[x] * src.sw;
      for (int c = 0; c < C; ++c) d[x * dst.sw + c * dst.sc] = p[c * src.sc];
    }
  });
}

template <class T, int C>
void area_fast_cpu(const ImageView& src, const ImageView& dst, int64_t fy, int64_t fx) {
  parallel_rows(dst.n, dst.h, [&](int64_t n, int64_t y) {
    const T* s = static_cast<const T*>(src.data) + n * src.sn;
    T* d = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
    for (int64_t x = 0; x < dst.w; ++x)
      resize_area_fast_pixel<T, C>(s, src.sh, src.sw, src.sc, fy, fx, y, x, d + x * dst.sw, dst.sc);
  });
}

template <class T, int C>
void resize_cpu(const ImageView& src, const ImageView& dst, const ResizeMethod& m, const Table& ty, const Table& tx) {
  if (m.kind == ResizeKind::AreaFast) return area_fast_cpu<T, C>(src, dst, m.fy, m.fx);
  if (m.interp == Interp::Nearest) return nearest_cpu<T, C>(src, dst, ty.view(), tx.view());
  if constexpr (std::is_same_v<T, uint8_t>) {
    if (m.kind == ResizeKind::FixedLinear) return two_pass<uint8_t, int16_t, C>(src, dst, ty.view(), tx.view());
  }
  two_pass<T, float, C>(src, dst, ty.view(), tx.view());
}

}  // namespace
}  // namespace detail

void resize(const ImageView& src, const ImageView& dst, Interp interp, [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_pair(src, dst);
  FASTAUG_CHECK(dst.n == src.n && dst.c == src.c && dst.dtype == src.dtype, "dst: expected ", src.n, " images of ",
                src.c, " channels and dtype ", dtype_name(src.dtype), ", got shape ", shape_str(dst), " ",
                dtype_name(dst.dtype));
  FASTAUG_CHECK(static_cast<int>(interp) >= 0 && static_cast<int>(interp) <= 3,
                "interp: expected nearest, linear, cubic or area, got code ", static_cast<int>(interp));
  FASTAUG_CHECK(dst.h > 0 && dst.w > 0, "size: expected a positive height and width, got ", dst.h, "x", dst.w);
  if (dst.empty()) return;
  FASTAUG_CHECK(src.h > 0 && src.w > 0, "img: cannot resize an empty image of shape ", shape_str(src));
  const ResizeMethod m = resize_method(src.h, src.w, dst.h, dst.w, interp, src.dtype == DType::UInt8);
  const Table ty = make_table(src.h, dst.h, m, false), tx = make_table(src.w, dst.w, m, true);
  FASTAUG_ROUTE(src, "resize",
                dispatch_dtype(src.dtype,
                               [&](auto t) {
                                 dispatch_channels(src.c, [&](auto ch) {
                                   resize_cpu<decltype(t), decltype(ch)::value>(src, dst, m, ty, tx);
                                 });
                               }),
                cuda::resize(src, dst, m, stream));
}

void resize(const RaggedView& src, const RaggedView& dst, Interp interp, Stream stream) {
  using namespace detail;
  check_pair(src, dst);
  FASTAUG_CHECK(dst.n == src.n && dst.c == src.c && dst.dtype == src.dtype, "dst: expected ", src.n, " images of ",
                src.c, " channels and dtype ", dtype_name(src.dtype), ", got ", dst.n, " images of ", dst.c,
                " channels and dtype ", dtype_name(dst.dtype));
  FASTAUG_CHECK(static_cast<int>(interp) >= 0 && static_cast<int>(interp) <= 3,
                "interp: expected nearest, linear, cubic or area, got code ", static_cast<int>(interp));
  for (int64_t n = 0; n < src.n; ++n) {
    FASTAUG_CHECK(dst.images[n].h > 0 && dst.images[n].w > 0, "size: expected a positive height and width for image ",
                  n, ", got ", dst.images[n].h, "x", dst.images[n].w);
    FASTAUG_CHECK(src.images[n].h > 0 && src.images[n].w > 0, "src[", n, "]: cannot resize an empty image of shape ",
                  shape_str(src.image(n)));
  }
  if (src.device != Device::CPU) {
    for (int64_t n = 0; n < src.n; ++n) resize(src.image(n), dst.image(n), interp, stream);
    return;
  }
  // One parallel region over the images, each resized by one thread (regions inside it run as a team of one,
  // see num_threads): images of different sizes balance over the threads, and a thread that the OS preempts
  // holds up one image rather than every image's region.
  std::exception_ptr error;
  parallel_for(src.n, [&](int64_t n) {
    try {
      resize(src.image(n), dst.image(n), interp, stream);
    } catch (...) {
#pragma omp critical(fastaug_ragged_resize)
      if (!error) error = std::current_exception();
    }
  });
  if (error) std::rethrow_exception(error);
}

}  // namespace fastaug
