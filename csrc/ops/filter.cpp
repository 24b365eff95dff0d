// filter2d, sep_filter2d, gaussian_blur, box_blur, median_blur (CPU loops). Each worker takes a block of
// rows of one image, widens the source rows it needs into padded float rows (border applied once per
// row), and runs the taps over W*C contiguous floats, which the compiler vectorises.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "../common/border.hpp"
#include "../common/dispatch.hpp"
#include "../common/parallel.hpp"
#include "../common/saturate.hpp"
#include "backend.hpp"
#include "fastaug/filters.hpp"
#include "filter_pixel.hpp"

namespace fastaug {
namespace detail {
namespace {

constexpr int64_t kBlockRows = 64;  // rows per task: the kh - 1 halo rows are filtered twice

// in[i] converted to V for i in [0, len). Its own cloned function: inside padded_row (not cloned) the
// conversion ran in baseline SSE2, a fifth of filter2d's time.
template <class T, class V>
FASTAUG_CPU_CLONES void widen_dense(const T* __restrict in, int64_t len, V* __restrict out) {
  for (int64_t i = 0; i < len; ++i) out[i] = static_cast<V>(in[i]);
}

// Source row r of image n, converted to V (float, or uint16 for the 8-bit Gaussian) and padded by `left` /
// `right` pixels with the border (a row outside the image under Border::Constant is all fill).
template <class T, class V = float>
void padded_row(const ImageView& src, int64_t n, int64_t r, int left, int right, Border border, const V* fill, V* out) {
  const int64_t C = src.c, W = src.w;
  const int64_t ry = map_border(r, src.h, border);
  if (ry < 0) {
    for (int64_t x = 0; x < W + left + right; ++x)
      for (int64_t c = 0; c < C; ++c) out[x * C + c] = fill[c];
    return;
  }
  const T* row = static_cast<const T*>(src.data) + n * src.sn + ry * src.sh;
  V* mid = out + left * C;
  if (src.rows_dense() && std::is_same_v<T, V>) {
    std::memcpy(mid, row, sizeof(T) * W * C);
  } else if (src.rows_dense()) {
    widen_dense(row, W * C, mid);
  } else {
    for (int64_t x = 0; x < W; ++x)
      for (int64_t c = 0; c < C; ++c) mid[x * C + c] = static_cast<V>(row[x * src.sw + c * src.sc]);
  }
  for (int64_t x = -left; x < 0; ++x) {
    const int64_t sx = map_border(x, W, border);
    for (int64_t c = 0; c < C; ++c) mid[x * C + c] = sx < 0 ? fill[c] : mid[sx * C + c];
  }
  for (int64_t x = W; x < W + right; ++x) {
    const int64_t sx = map_border(x, W, border);
    for (int64_t c = 0; c < C; ++c) mid[x * C + c] = sx < 0 ? fill[c] : mid[sx * C + c];
  }
}

// out[i] = sum_j k[j] * in[i + j * step] for i in [0, len), summed in order of j: one correlation along a
// row (step = C) or down a column of rows (step = row length). Small tap counts are unrolled so that each
// output is accumulated in a register; every variant sums in the same order (same bits).
template <int K>
FASTAUG_CPU_CLONES void correlate_fixed(const float* in, const float* k, int64_t step, int64_t len, float* out) {
  float kk[K];
  for (int j = 0; j < K; ++j) kk[j] = k[j];
  for (int64_t i = 0; i < len; ++i) {
    float acc = 0.f;
    for (int j = 0; j < K; ++j) acc += kk[j] * in[i + j * step];
    out[i] = acc;
  }
}

FASTAUG_CPU_CLONES void correlate_any(const float* in, const float* k, int taps, int64_t step, int64_t len,
                                      float* out) {
  for (int64_t i = 0; i < len; ++i) out[i] = 0.f;
  for (int j = 0; j < taps; ++j) {
    const float kj = k[j];
    const float* p = in + j * step;
    for (int64_t i = 0; i < len; ++i) out[i] += kj * p[i];
  }
}

inline void correlate_row(const float* in, const float* k, int taps, int64_t step, int64_t len, float* out) {
  switch (taps) {
    case 1:
      return correlate_fixed<1>(in, k, step, len, out);
    case 2:
      return correlate_fixed<2>(in, k, step, len, out);
    case 3:
      return correlate_fixed<3>(in, k, step, len, out);
    case 4:
      return correlate_fixed<4>(in, k, step, len, out);
    case 5:
      return correlate_fixed<5>(in, k, step, len, out);
    case 7:
      return correlate_fixed<7>(in, k, step, len, out);
    default:
      return correlate_any(in, k, taps, step, len, out);
  }
}

// correlate_fixed down a column of rows (step = len), storing saturate(sum + delta) straight into a dense
// output row: the same bits as correlate_row then store_row, without the round trip through acc.
template <int K, class U>
FASTAUG_CPU_CLONES void correlate_store(const float* in, const float* k, int64_t len, float delta, U* __restrict out) {
  float kk[K];
  for (int j = 0; j < K; ++j) kk[j] = k[j];
  for (int64_t i = 0; i < len; ++i) {
    float acc = 0.f;
    for (int j = 0; j < K; ++j) acc += kk[j] * in[i + j * len];
    out[i] = saturate_cast<U>(acc + delta);
  }
}

// Stores saturate(acc + delta). The separable filter always adds its delta (as the other backends do, so
// -0 sums give the same bits); the default -0 is the exact identity (x + -0 == x, also for x = -0).
template <class U>
FASTAUG_CPU_CLONES void store_dense(const float* acc, float delta, int64_t len, U* row) {
  for (int64_t i = 0; i < len; ++i) row[i] = saturate_cast<U>(acc[i] + delta);
}

// Stores finished values (channels-last) into the output row (n, y), strided or not.
template <class U>
void store_values(const ImageView& dst, int64_t n, int64_t y, const U* values) {
  U* row = static_cast<U*>(dst.data) + n * dst.sn + y * dst.sh;
  for (int64_t x = 0; x < dst.w; ++x)
    for (int64_t c = 0; c < dst.c; ++c) row[x * dst.sw + c * dst.sc] = values[x * dst.c + c];
}

template <class U>
void store_row(const ImageView& dst, int64_t n, int64_t y, const float* acc, float delta = -0.f) {
  U* row = static_cast<U*>(dst.data) + n * dst.sn + y * dst.sh;
  const int64_t C = dst.c;
  if (dst.rows_dense()) {
    store_dense<U>(acc, delta, dst.w * C, row);
  } else {
    for (int64_t x = 0; x < dst.w; ++x)
      for (int64_t c = 0; c < C; ++c) row[x * dst.sw + c * dst.sc] = saturate_cast<U>(acc[x * C + c] + delta);
  }
}

template <class T, class U>
void sep_cpu(const ImageView& src, const ImageView& dst, const float* kx, int kw, const float* ky, int kh,
             Border border, const float* fill, float delta) {
  const int ax = kw / 2, ay = kh / 2;
  const int64_t C = src.c, len = src.w * C;
  parallel_blocks(src.n, src.h, kBlockRows, [&](int64_t n, int64_t y0, int64_t y1) {
    const float* kxn = kx + n * kw;
    const float* kyn = ky + n * kh;
    const auto pad = scratch<float>((src.w + kw - 1) * C), rows = scratch<float>((y1 - y0 + kh - 1) * len),
               acc = scratch<float>(len);
    for (int64_t r = y0 - ay; r < y1 + kh - 1 - ay; ++r) {
      padded_row<T>(src, n, r, ax, kw - 1 - ax, border, fill, pad.get());
      correlate_row(pad.get(), kxn, kw, C, len, &rows[(r - y0 + ay) * len]);
    }
    for (int64_t y = y0; y < y1; ++y) {
      const float* column = &rows[(y - y0) * len];
      U* out = dst.rows_dense() ? static_cast<U*>(dst.data) + n * dst.sn + y * dst.sh : nullptr;
      if (out && kh == 3) {
        correlate_store<3, U>(column, kyn, len, delta, out);
      } else if (out && kh == 5) {
        correlate_store<5, U>(column, kyn, len, delta, out);
      } else {
        correlate_row(column, kyn, kh, len, len, acc.get());
        store_row<U>(dst, n, y, acc.get(), delta);
      }
    }
  });
}

// cv::filter2D's sum (as OpenCV evaluates it): the kernel's non-zero taps only, in row-major order, into
// one accumulator from 0; every backend sums so (an all-zero kernel gives 0). Here for one output row from
// the block's padded rows: tap t reads window[off[t] + i], and out[i] = saturate(sum) (the bits of
// store_row's sum + -0). N taps (a compile-time count) stay in registers and the sum goes straight to out;
// N = 0 takes any count, accumulating in acc in the same order.
template <int N, class U>
FASTAUG_CPU_CLONES void filter2d_row(const float* __restrict window, const int64_t* off, const float* coef, int taps,
                                     int64_t len, float* __restrict acc, U* __restrict out) {
  if constexpr (N == 0) {
    for (int64_t i = 0; i < len; ++i) acc[i] = 0.f;
    for (int t = 0; t < taps; ++t)
      for (int64_t i = 0; i < len; ++i) acc[i] += coef[t] * window[off[t] + i];
    for (int64_t i = 0; i < len; ++i) out[i] = saturate_cast<U>(acc[i]);
  } else {
    int64_t o[N];
    float k[N];
    for (int t = 0; t < N; ++t) o[t] = off[t], k[t] = coef[t];
    for (int64_t i = 0; i < len; ++i) {
      float sum = 0.f;
      for (int t = 0; t < N; ++t) sum += k[t] * window[o[t] + i];
      out[i] = saturate_cast<U>(sum);
    }
  }
}

template <class F>
void by_tap_count(int taps, F&& f) {
  // clang-format cannot lay out statement macros without semicolons stably
  // clang-format off
  switch (taps) {
#define FASTAUG_TAPS(n) \
  case n: return f(std::integral_constant<int, n>{});
    FASTAUG_TAPS(1) FASTAUG_TAPS(2) FASTAUG_TAPS(3) FASTAUG_TAPS(4) FASTAUG_TAPS(5) FASTAUG_TAPS(6) FASTAUG_TAPS(7)
    FASTAUG_TAPS(8) FASTAUG_TAPS(9) FASTAUG_TAPS(13) FASTAUG_TAPS(25)
#undef FASTAUG_TAPS
    default: return f(std::integral_constant<int, 0>{});
  }
  // clang-format on
}

template <class T>
void filter2d_cpu(const ImageView& src, const ImageView& dst, const float* kernel, int kh, int kw, Border border,
                  const float* fill) {
  const int ax = kw / 2, ay = kh / 2;
  const int64_t C = src.c, len = src.w * C, plen = (src.w + kw - 1) * C;
  parallel_blocks(src.n, src.h, kBlockRows, [&](int64_t n, int64_t y0, int64_t y1) {
    const float* k = kernel + n * kh * kw;
    std::vector<int64_t> off;
    std::vector<float> coef;
    for (int r = 0; r < kh; ++r)
      for (int j = 0; j < kw; ++j)
        if (k[r * kw + j] != 0.f) off.push_back(r * plen + j * C), coef.push_back(k[r * kw + j]);
    const int taps = static_cast<int>(off.size());
    const auto rows = scratch<float>((y1 - y0 + kh - 1) * plen), acc = scratch<float>(len);
    const auto values = scratch<T>(len);
    for (int64_t r = y0 - ay; r < y1 + kh - 1 - ay; ++r)
      padded_row<T>(src, n, r, ax, kw - 1 - ax, border, fill, &rows[(r - y0 + ay) * plen]);
    by_tap_count(taps, [&](auto count) {
      for (int64_t y = y0; y < y1; ++y) {
        const float* window = &rows[(y - y0) * plen];
        T* out = dst.rows_dense() ? static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh : values.get();
        filter2d_row<decltype(count)::value, T>(window, off.data(), coef.data(), taps, len, acc.get(), out);
        if (!dst.rows_dense()) store_values<T>(dst, n, y, values.get());
      }
    });
  });
}

// The uint8 Gaussian in OpenCV's fixed point (gaussian_kernel_q8): the row pass sums kx * pixel (uint16),
// the column pass ky * row sums, then round_q16. Integer sums are exact, so any order gives the bits of
// every other backend. Small tap counts are unrolled and use the kernel's symmetry (Gaussian kernels are
// symmetric: one multiply per pair of taps); K = 0 takes any count.
template <int K>
FASTAUG_CPU_CLONES void q8_row_pass(const uint16_t* in, const uint16_t* k, int taps, int64_t step, int64_t len,
                                    uint16_t* out) {
  if (K == 0) {
    for (int64_t i = 0; i < len; ++i) out[i] = 0;
    for (int j = 0; j < taps; ++j)
      for (int64_t i = 0; i < len; ++i) out[i] = static_cast<uint16_t>(out[i] + k[j] * in[i + j * step]);
    return;
  }
  uint16_t kk[K > 0 ? K : 1];
  for (int j = 0; j < K; ++j) kk[j] = k[j];
  for (int64_t i = 0; i < len; ++i) {
    uint16_t acc = static_cast<uint16_t>(kk[K / 2] * in[i + (K / 2) * step]);
    for (int j = 0; j < K / 2; ++j)
      acc = static_cast<uint16_t>(acc + kk[j] * (in[i + j * step] + in[i + (K - 1 - j) * step]));
    out[i] = acc;
  }
}

// With a fixed tap count the column pass stays in 16-bit lanes: each row sum r splits into its bytes, and
// sum k * r = 256 * hi + lo with hi = sum k * (r >> 8), lo = sum k * (r & 255), each <= 255 * 256. Then
// round_q16(256 * hi + lo) == (hi + (lo >> 8) + 128) >> 8 (the low byte of lo cannot carry past a multiple
// of 256), and that sum stays < 2^16 because the whole sum is <= 255 << 16.
template <int K>
FASTAUG_CPU_CLONES void q8_column_pass(const uint16_t* rows, const uint16_t* k, int taps, int64_t step, int64_t len,
                                       uint32_t* acc, uint8_t* out) {
  if (K == 0) {
    for (int64_t i = 0; i < len; ++i) acc[i] = 0;
    for (int j = 0; j < taps; ++j)
      for (int64_t i = 0; i < len; ++i) acc[i] += uint32_t{k[j]} * rows[i + j * step];
    for (int64_t i = 0; i < len; ++i) out[i] = round_q16(acc[i]);
    return;
  }
  uint16_t kk[K > 0 ? K : 1];
  for (int j = 0; j < K; ++j) kk[j] = k[j];
  for (int64_t i = 0; i < len; ++i) {
    const uint16_t c = rows[i + (K / 2) * step];
    uint16_t hi = static_cast<uint16_t>(kk[K / 2] * (c >> 8)), lo = static_cast<uint16_t>(kk[K / 2] * (c & 255));
    for (int j = 0; j < K / 2; ++j) {
      const uint16_t r = rows[i + j * step], q = rows[i + (K - 1 - j) * step];
      hi = static_cast<uint16_t>(hi + kk[j] * ((r >> 8) + (q >> 8)));
      lo = static_cast<uint16_t>(lo + kk[j] * ((r & 255) + (q & 255)));
    }
    out[i] = static_cast<uint8_t>((hi + (lo >> 8) + 128) >> 8);
  }
}

template <class F>
void by_taps(int taps, F&& f) {
  switch (taps) {
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    case 5:
      return f(std::integral_constant<int, 5>{});
    case 7:
      return f(std::integral_constant<int, 7>{});
    default:
      return f(std::integral_constant<int, 0>{});
  }
}

// cv::blur (box_value): exact window sums. uint8: running column sums of the source rows (add the row
// entering the window, subtract the one leaving: exact integers in S, uint16 while the window's sum fits,
// else int32), then per output row the kw-tap sums along them, padded at the row's ends by the border.
// float: each padded row's horizontal sums in double, then the column sums direct, in row order
// (box_value's order, so every backend has the same bits).
template <class S>
FASTAUG_CPU_CLONES void box_columns_slide(const uint8_t* __restrict enter, const uint8_t* __restrict leave, int64_t len,
                                          S* __restrict col) {
  for (int64_t i = 0; i < len; ++i) col[i] = static_cast<S>(col[i] + enter[i] - leave[i]);
}

template <int K, class S>
FASTAUG_CPU_CLONES void box_row_out(const S* __restrict col, int kw, int64_t step, int64_t len, float inv,
                                    uint8_t* __restrict out) {
  const int taps = K > 0 ? K : kw;  // K: a literal tap count, so the taps are summed in registers
  for (int64_t i = 0; i < len; ++i) {
    S sum = col[i];
    for (int j = 1; j < taps; ++j) sum = static_cast<S>(sum + col[i + j * step]);
    out[i] = box_value(static_cast<int32_t>(sum), inv);
  }
}

template <class S>
void box_u8_cpu(const ImageView& src, const ImageView& dst, int kh, int kw, Border border) {
  const int ax = kw / 2, ay = kh / 2, right = kw - 1 - ax;
  const int64_t C = src.c, W = src.w, len = W * C;
  const float inv = box_inv_area<uint8_t>(kh, kw);
  const uint8_t zero[4] = {};                           // cv2.blur's constant border reads 0
  const auto zeros = std::make_unique<uint8_t[]>(len);  // a row outside the image under a constant border
  const bool dense = src.rows_dense(), direct = dst.rows_dense();
  parallel_blocks(src.n, src.h, kBlockRows, [&](int64_t n, int64_t y0, int64_t y1) {
    const auto padded = scratch<S>((W + kw - 1) * C);
    const auto enter_copy = scratch<uint8_t>(dense ? 0 : len), leave_copy = scratch<uint8_t>(dense ? 0 : len);
    const auto out = scratch<uint8_t>(direct ? 0 : len);
    S* col = padded.get() + ax * C;
    const auto row = [&](int64_t r, uint8_t* copy) -> const uint8_t* {  // dense rows are read in place
      const int64_t ry = map_border(r, src.h, border);
      if (ry < 0) return zeros.get();
      if (dense) return static_cast<const uint8_t*>(src.data) + n * src.sn + ry * src.sh;
      padded_row<uint8_t, uint8_t>(src, n, ry, 0, 0, border, zero, copy);
      return copy;
    };
    for (int64_t i = 0; i < len; ++i) col[i] = 0;
    for (int64_t r = y0 - ay; r < y0 - ay + kh; ++r) box_columns_slide(row(r, enter_copy.get()), zeros.get(), len, col);
    for (int64_t y = y0; y < y1; ++y) {
      for (int64_t x = -ax; x < 0; ++x) {  // the column sums beyond the row's ends, by the border
        const int64_t sx = map_border(x, W, border);
        for (int64_t c = 0; c < C; ++c) col[x * C + c] = sx < 0 ? 0 : col[sx * C + c];
      }
      for (int64_t x = W; x < W + right; ++x) {
        const int64_t sx = map_border(x, W, border);
        for (int64_t c = 0; c < C; ++c) col[x * C + c] = sx < 0 ? 0 : col[sx * C + c];
      }
      uint8_t* o = direct ? static_cast<uint8_t*>(dst.data) + n * dst.sn + y * dst.sh : out.get();
      by_taps(kw, [&](auto k) { box_row_out<decltype(k)::value, S>(padded.get(), kw, C, len, inv, o); });
      if (!direct) store_values(dst, n, y, out.get());
      if (y + 1 < y1) box_columns_slide(row(y - ay + kh, enter_copy.get()), row(y - ay, leave_copy.get()), len, col);
    }
  });
}

template <int K>
FASTAUG_CPU_CLONES void box_row_pass(const double* __restrict in, int kw, int64_t step, int64_t len,
                                     double* __restrict out) {
  if constexpr (K > 0) {  // one pass, the K taps summed in registers
    for (int64_t i = 0; i < len; ++i) {
      double acc = in[i];
      for (int j = 1; j < K; ++j) acc += in[i + j * step];
      out[i] = acc;
    }
  } else {
    for (int64_t i = 0; i < len; ++i) out[i] = in[i];
    for (int j = 1; j < kw; ++j)
      for (int64_t i = 0; i < len; ++i) out[i] += in[i + j * step];
  }
}

FASTAUG_CPU_CLONES void box_column_f32(const double* rows, int kh, int64_t len, double inv, double* acc, float* out) {
  for (int64_t i = 0; i < len; ++i) acc[i] = 0.0;
  for (int j = 0; j < kh; ++j)
    for (int64_t i = 0; i < len; ++i) acc[i] += rows[j * len + i];
  for (int64_t i = 0; i < len; ++i) out[i] = box_value(acc[i], inv);
}

void box_f32_cpu(const ImageView& src, const ImageView& dst, int kh, int kw, Border border) {
  const int ax = kw / 2, ay = kh / 2;
  const int64_t C = src.c, len = src.w * C;
  const double inv = box_inv_area<float>(kh, kw);
  const double zero[4] = {};  // cv2.blur's constant border reads 0
  parallel_blocks(src.n, src.h, kBlockRows, [&](int64_t n, int64_t y0, int64_t y1) {
    const auto pad = scratch<double>((src.w + kw - 1) * C), rows = scratch<double>((y1 - y0 + kh - 1) * len);
    for (int64_t r = y0 - ay; r < y1 + kh - 1 - ay; ++r) {
      padded_row<float, double>(src, n, r, ax, kw - 1 - ax, border, zero, pad.get());
      double* sums = &rows[(r - y0 + ay) * len];
      by_taps(kw, [&](auto k) { box_row_pass<decltype(k)::value>(pad.get(), kw, C, len, sums); });
    }
    const auto acc = scratch<double>(len);
    const auto out = scratch<float>(len);
    const bool direct = dst.rows_dense();  // results straight into the output rows
    for (int64_t y = y0; y < y1; ++y) {
      float* o = direct ? static_cast<float*>(dst.data) + n * dst.sn + y * dst.sh : out.get();
      box_column_f32(&rows[(y - y0) * len], kh, len, inv, acc.get(), o);
      if (!direct) store_values(dst, n, y, out.get());
    }
  });
}

void gaussian_q8_cpu(const ImageView& src, const ImageView& dst, const uint16_t* kx, int kw, const uint16_t* ky, int kh,
                     Border border) {
  const int ax = kw / 2, ay = kh / 2;
  const int64_t C = src.c, len = src.w * C;
  const uint16_t zero_fill[4] = {};  // cv::GaussianBlur's constant border is 0
  parallel_blocks(src.n, src.h, kBlockRows, [&](int64_t n, int64_t y0, int64_t y1) {
    const uint16_t* kxn = kx + n * kw;
    const uint16_t* kyn = ky + n * kh;
    const auto pad = scratch<uint16_t>((src.w + kw - 1) * C), rows = scratch<uint16_t>((y1 - y0 + kh - 1) * len);
    const auto acc = scratch<uint32_t>(len);
    const auto out = scratch<uint8_t>(len);
    for (int64_t r = y0 - ay; r < y1 + kh - 1 - ay; ++r) {
      padded_row<uint8_t, uint16_t>(src, n, r, ax, kw - 1 - ax, border, zero_fill, pad.get());
      by_taps(kw,
              [&](auto k) { q8_row_pass<decltype(k)::value>(pad.get(), kxn, kw, C, len, &rows[(r - y0 + ay) * len]); });
    }
    for (int64_t y = y0; y < y1; ++y) {
      uint8_t* row = static_cast<uint8_t*>(dst.data) + n * dst.sn + y * dst.sh;
      uint8_t* target = dst.rows_dense() ? row : out.get();
      by_taps(kh, [&](auto k) {
        q8_column_pass<decltype(k)::value>(&rows[(y - y0) * len], kyn, kh, len, len, acc.get(), target);
      });
      if (target != row)
        for (int64_t i = 0; i < len; ++i) row[(i / C) * dst.sw + (i % C) * dst.sc] = out[i];
    }
  });
}

// The median is exact, so the CPU may pick its own algorithm without drifting from the other backends'
// median_of: a selection network applied to many pixels at once (min/max over arrays, which vectorise),
// as OpenCV does. The network: Batcher's odd-even merge sort over the next power of two, keeping only
// the comparators between real inputs (padding would be +infinity at the top and never move) and,
// walking backwards, only those that can reach the middle position.
std::vector<std::pair<int, int>> median_network(int n) {
  int p2 = 1;
  while (p2 < n) p2 *= 2;
  std::vector<std::pair<int, int>> sort;
  for (int p = 1; p < p2; p *= 2)
    for (int k = p; k > 0; k /= 2)
      for (int j = k % p; j + k < p2; j += 2 * k)
        for (int i = 0; i < k && i + j + k < p2; ++i)
          if ((i + j) / (2 * p) == (i + j + k) / (2 * p) && i + j + k < n) sort.push_back({i + j, i + j + k});
  std::vector<bool> needed(n, false);
  needed[n / 2] = true;
  std::vector<std::pair<int, int>> kept;
  for (auto it = sort.rbegin(); it != sort.rend(); ++it)
    if (needed[it->first] || needed[it->second]) {
      kept.push_back(*it);
      needed[it->first] = needed[it->second] = true;
    }
  return {kept.rbegin(), kept.rend()};
}

// The same pruned network as a compile-time table, for median_vectors.
struct Comparator {
  int first, second;
};

template <int N>
struct MedianNetwork {
  static constexpr int kMax = 1024;
  Comparator pair[kMax] = {};
  int size = 0;
  constexpr MedianNetwork() {
    int p2 = 1;
    while (p2 < N) p2 *= 2;
    Comparator sort[kMax] = {};
    int count = 0;
    for (int p = 1; p < p2; p *= 2)
      for (int k = p; k > 0; k /= 2)
        for (int j = k % p; j + k < p2; j += 2 * k)
          for (int i = 0; i < k && i + j + k < p2; ++i)
            if ((i + j) / (2 * p) == (i + j + k) / (2 * p) && i + j + k < N) sort[count++] = {i + j, i + j + k};
    bool needed[N] = {};
    needed[N / 2] = true;
    Comparator kept[kMax] = {};
    int k = 0;
    for (int i = count - 1; i >= 0; --i)
      if (needed[sort[i].first] || needed[sort[i].second]) {
        kept[k++] = sort[i];
        needed[sort[i].first] = needed[sort[i].second] = true;
      }
    for (int i = 0; i < k; ++i) pair[i] = kept[k - 1 - i];
    size = k;
  }
};

// The median network on whole vectors held in registers: every comparator is a min/max of two vectors, with
// apply_network's comparison (y < x), so the selection is the same, value for value. Forced inline: a
// separate function would be compiled for the baseline target, not for the caller's clone.
template <class Vec>
__attribute__((always_inline)) inline void compare_exchange(Vec& a, Vec& b) {
  const Vec x = a, y = b;
  a = y < x ? y : x;
  b = y < x ? x : y;
}

template <class Vec, int N, size_t... I>
__attribute__((always_inline)) inline void median_vectors(Vec* v, std::index_sequence<I...>) {
  static constexpr MedianNetwork<N> net{};
  (compare_exchange(v[net.pair[I].first], v[net.pair[I].second]), ...);
}

constexpr int kMedianVecBytes = 32;  // 25 live vectors fit the 16 AVX2 registers better than 50 halves

// The medians of `count` consecutive values of one output row (len values in all, channels-last), from the
// block's padded source rows (row stride plen), VecLanes at a time; the last vector overlaps the one before
// it rather than running past the row (each lane is computed independently, so recomputing is harmless).
template <class T, int K>
FASTAUG_CPU_CLONES void median_row_vec(const T* rows, int64_t plen, int64_t C, int64_t len, T* out) {
  typedef T Vec __attribute__((vector_size(kMedianVecBytes)));
  constexpr int64_t L = kMedianVecBytes / sizeof(T);
  constexpr int N = K * K;
  for (int64_t i0 = 0;; i0 += L) {
    const int64_t i = i0 + L <= len ? i0 : len - L;
    Vec v[N];
    for (int r = 0; r < K; ++r)
      for (int j = 0; j < K; ++j) std::memcpy(&v[r * K + j], rows + r * plen + j * C + i, sizeof(Vec));
    median_vectors<Vec, N>(v, std::make_index_sequence<MedianNetwork<N>{}.size>{});
    std::memcpy(out + i, &v[N / 2], sizeof(Vec));
    if (i0 + L >= len) break;
  }
}

constexpr int kMedianLanes = 128;  // values per network pass: every comparator is a min/max over these

// vals holds `count` arrays of kMedianLanes values; afterwards array n / 2 holds the medians.
template <class T>
FASTAUG_CPU_CLONES void apply_network(T* vals, const std::pair<int, int>* net, int64_t size) {
  for (int64_t k = 0; k < size; ++k) {
    T* a = vals + net[k].first * kMedianLanes;
    T* b = vals + net[k].second * kMedianLanes;
    for (int l = 0; l < kMedianLanes; ++l) {
      const T x = a[l], y = b[l];
      a[l] = y < x ? y : x;
      b[l] = y < x ? x : y;
    }
  }
}

template <class T>
void median_cpu(const ImageView& src, const ImageView& dst, int ksize) {
  const int a = ksize / 2, count = ksize * ksize;
  static const std::vector<std::pair<int, int>> networks[3] = {median_network(9), median_network(25),
                                                               median_network(49)};
  const std::vector<std::pair<int, int>>& net = networks[a - 1];
  const int64_t C = src.c, len = src.w * C, plen = (src.w + 2 * a) * C;
  parallel_blocks(src.n, src.h, kBlockRows, [&](int64_t n, int64_t y0, int64_t y1) {
    // the block's source rows, padded by replicating the edge pixels (OpenCV's median border)
    const auto rows = scratch<T>((y1 - y0 + 2 * a) * plen);
    std::vector<T> vals(static_cast<size_t>(count) * kMedianLanes);  // zeroed: lanes past a row's end are sorted too
    const T no_fill[4] = {};                                         // a replicated border never reads the fill
    for (int64_t r = y0 - a; r < y1 + a; ++r)
      padded_row<T, T>(src, n, r, a, a, Border::Replicate, no_fill, &rows[(r - y0 + a) * plen]);
    constexpr int64_t L = kMedianVecBytes / sizeof(T);  // median_row_vec's lanes
    const auto row_out = scratch<T>(len);
    for (int64_t y = y0; y < y1; ++y) {
      T* out = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
      if (len >= L) {  // whole vectors in registers
        T* o = dst.rows_dense() ? out : row_out.get();
        const T* window = &rows[(y - y0) * plen];
        if (ksize == 3)
          median_row_vec<T, 3>(window, plen, C, len, o);
        else if (ksize == 5)
          median_row_vec<T, 5>(window, plen, C, len, o);
        else
          median_row_vec<T, 7>(window, plen, C, len, o);
        if (!dst.rows_dense()) store_values(dst, n, y, o);
        continue;
      }
      for (int64_t i0 = 0; i0 < len; i0 += kMedianLanes) {
        const int64_t lanes = std::min<int64_t>(kMedianLanes, len - i0);
        for (int k = 0; k < count; ++k) {  // value k of the window: row k / ksize, column k % ksize
          const T* p = &rows[(y - y0 + k / ksize) * plen + (k % ksize) * C + i0];
          std::copy(p, p + lanes, &vals[k * kMedianLanes]);
        }
        apply_network(vals.data(), net.data(), static_cast<int64_t>(net.size()));
        const T* med = &vals[(count / 2) * kMedianLanes];
        for (int64_t l = 0; l < lanes; ++l) {
          const int64_t i = i0 + l;
          out[(i / C) * dst.sw + (i % C) * dst.sc] = med[l];
        }
      }
    }
  });
}

void check_filter_pair(const ImageView& src, const ImageView& dst, bool any_float_dst) {
  check_pair(src, dst);
  FASTAUG_CHECK(dst.n == src.n && dst.h == src.h && dst.w == src.w && dst.c == src.c, "dst: expected shape ",
                shape_str(src), " like src, got ", shape_str(dst));
  FASTAUG_CHECK(dst.dtype == src.dtype || (any_float_dst && dst.dtype == DType::Float32), "dst: expected dtype ",
                dtype_name(src.dtype), any_float_dst ? " or float32" : "", ", got ", dtype_name(dst.dtype));
}

void check_ksize(int k, const char* name, bool odd) {
  FASTAUG_CHECK(k > 0 && k <= 255 && (!odd || k % 2 == 1), name, ": expected ", odd ? "an odd" : "a",
                " size between 1 and 255, got ", k);
}

void to_float_fill(const double fill[4], float* out) {
  for (int c = 0; c < 4; ++c) out[c] = fill ? static_cast<float>(fill[c]) : 0.f;
}

}  // namespace

// Shared by sep_filter2d, gaussian_blur, box_blur and sobel once their kernels are built.
void run_sep_filter(const ImageView& src, const ImageView& dst, const float* kx, int kw, const float* ky, int kh,
                    Border border, const double fill[4], double delta, const char* op, [[maybe_unused]] Stream stream) {
  float fillf[4];
  to_float_fill(fill, fillf);
  if (dst.empty()) return;
  FASTAUG_ROUTE(
      src, op,
      dispatch_dtype(src.dtype,
                     [&](auto t) {
                       using T = decltype(t);
                       if (dst.dtype == DType::Float32)
                         sep_cpu<T, float>(src, dst, kx, kw, ky, kh, border, fillf, static_cast<float>(delta));
                       else
                         sep_cpu<T, uint8_t>(src, dst, kx, kw, ky, kh, border, fillf, static_cast<float>(delta));
                     }),
      cuda::sep_filter(src, dst, kx, kw, ky, kh, border, fillf, static_cast<float>(delta), op, stream));
}

}  // namespace detail

void sep_filter2d(const ImageView& src, const ImageView& dst, const float* kx, int kw, const float* ky, int kh,
                  Border border, const double fill[4], double delta, Stream stream) {
  detail::check_filter_pair(src, dst, true);
  detail::check_border(border);
  detail::check_ksize(kw, "kx", false);
  detail::check_ksize(kh, "ky", false);
  detail::run_sep_filter(src, dst, kx, kw, ky, kh, border, fill, delta, "sep_filter2d", stream);
}

void filter2d(const ImageView& src, const ImageView& dst, const float* kernel, int kh, int kw, Border border,
              const double fill[4], [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_filter_pair(src, dst, false);
  check_border(border);
  check_ksize(kh, "kernel height", false);
  check_ksize(kw, "kernel width", false);
  float fillf[4];
  to_float_fill(fill, fillf);
  if (dst.empty()) return;
  FASTAUG_ROUTE(
      src, "filter2d",
      dispatch_dtype(src.dtype, [&](auto t) { filter2d_cpu<decltype(t)>(src, dst, kernel, kh, kw, border, fillf); }),
      cuda::filter2d(src, dst, kernel, kh, kw, border, fillf, stream));
}

void gaussian_blur(const ImageView& src, const ImageView& dst, int kh, int kw, const double* sigma, Border border,
                   Stream stream) {
  using namespace detail;
  check_filter_pair(src, dst, false);
  check_border(border);
  check_ksize(kh, "ksize height", true);
  check_ksize(kw, "ksize width", true);
  const bool q8 = src.dtype == DType::UInt8;  // OpenCV's bit-exact fixed-point path for 8-bit images
  std::vector<float> kx(q8 ? 0 : src.n * kw), ky(q8 ? 0 : src.n * kh);
  std::vector<uint16_t> kx8(q8 ? src.n * kw : 0), ky8(q8 ? src.n * kh : 0);
  for (int64_t n = 0; n < src.n; ++n) {
    const double sx = sigma[2 * n], sy = sigma[2 * n + 1] > 0 ? sigma[2 * n + 1] : sx;
    FASTAUG_CHECK(std::isfinite(sx) && std::isfinite(sy), "sigma: expected finite values, got (", sx, ", ", sy,
                  ") for sample ", n);
    if (q8) {
      gaussian_kernel_q8(kw, sx, &kx8[n * kw]);
      gaussian_kernel_q8(kh, sy, &ky8[n * kh]);
    } else {
      gaussian_kernel(kw, sx, &kx[n * kw]);
      gaussian_kernel(kh, sy, &ky[n * kh]);
    }
  }
  if (!q8) return run_sep_filter(src, dst, kx.data(), kw, ky.data(), kh, border, nullptr, 0.0, "gaussian_blur", stream);
  if (dst.empty()) return;
  FASTAUG_ROUTE(src, "gaussian_blur", gaussian_q8_cpu(src, dst, kx8.data(), kw, ky8.data(), kh, border),
                cuda::gaussian_q8(src, dst, kx8.data(), kw, ky8.data(), kh, border, stream));
}

void box_blur(const ImageView& src, const ImageView& dst, int kh, int kw, Border border,
              [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_filter_pair(src, dst, false);
  check_border(border);
  check_ksize(kh, "ksize height", false);
  check_ksize(kw, "ksize width", false);
  if (dst.empty()) return;
  FASTAUG_ROUTE(src, "box_blur",
                dispatch_dtype(src.dtype,
                               [&](auto t) {
                                 using T = decltype(t);
                                 if constexpr (std::is_same_v<T, uint8_t>) {
                                   if (int64_t(kh) * kw <= 257)  // the window's sum fits 16 bits
                                     box_u8_cpu<uint16_t>(src, dst, kh, kw, border);
                                   else
                                     box_u8_cpu<int32_t>(src, dst, kh, kw, border);
                                 } else {
                                   box_f32_cpu(src, dst, kh, kw, border);
                                 }
                               }),
                cuda::box(src, dst, kh, kw, border, stream));
}

void median_blur(const ImageView& src, const ImageView& dst, int ksize, [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_filter_pair(src, dst, false);
  FASTAUG_CHECK(ksize == 3 || ksize == 5 || ksize == 7, "ksize: expected 3, 5 or 7, got ", ksize);
  if (dst.empty()) return;
  FASTAUG_ROUTE(src, "median_blur",
                dispatch_dtype(src.dtype, [&](auto t) { median_cpu<decltype(t)>(src, dst, ksize); }),
                cuda::median(src, dst, ksize, stream));
}

}  // namespace fastaug
