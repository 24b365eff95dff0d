// flip, rotate90, crop and tiles: each builds one IndexMap per output image, then one shared copy loop.
#include <cstring>
#include <vector>

#include "../common/dispatch.hpp"
#include "../common/parallel.hpp"
#include "backend.hpp"
#include "copy_pixel.hpp"
#include "fastaug/geometry.hpp"

namespace fastaug {
namespace detail {
namespace {

typedef uint8_t v16qu __attribute__((vector_size(16)));

inline v16qu load16(const uint8_t* p) {
  v16qu v;
  std::memcpy(&v, p, 16);
  return v;
}

// A dense row's pixels in reverse order (flip's horizontal mirror). Every loop walks the source forwards and the
// output backwards: read backwards, the hardware prefetchers did not follow and RGB ran at a quarter of a copy's
// speed (AMD Zen). uint8 rows move whole vectors: RGB 16 pixels (48 bytes) a block, each output vector one
// two-input shuffle of two overlapping loads of the 18 source bytes it takes; 1 and 4 channels a shuffle of the
// 16 / C pixels of a vector. The last output pixels (the first source pixels) go one by one.
template <class T, int C>
FASTAUG_CPU_CLONES void reverse_pixels(const T* s, T* d, int64_t w) {
  constexpr int64_t P = sizeof(T) != 1 ? 0 : C == 3 ? 16 : 16 / C;  // pixels a block (0: no vector path)
  const int64_t vectored = P ? w / P * P : 0;                       // output pixels [0, vectored) in blocks
  for (int64_t x = w - 1; x >= vectored; --x)
    for (int c = 0; c < C; ++c) d[x * C + c] = s[(w - 1 - x) * C + c];
  if constexpr (P != 0) {
    for (int64_t x = vectored - P; x >= 0; x -= P) {  // output pixels [x, x + P) from source [w - x - P, w - x)
      const uint8_t* b = s + (w - x - P) * C;
      if constexpr (C == 3) {
        // output vector v takes source bytes [a, a + 18) of the 48, a = 30, 15, 0: indices into (a, a + 2)
        constexpr v16qu m0 = {15, 30, 31, 12, 13, 14, 9, 10, 11, 6, 7, 8, 3, 4, 5, 0};
        constexpr v16qu m1 = {30, 31, 12, 13, 14, 9, 10, 11, 6, 7, 8, 3, 4, 5, 0, 1};
        constexpr v16qu m2 = {31, 12, 13, 14, 9, 10, 11, 6, 7, 8, 3, 4, 5, 0, 1, 2};
        const v16qu o0 = __builtin_shuffle(load16(b + 30), load16(b + 32), m0);
        const v16qu o1 = __builtin_shuffle(load16(b + 15), load16(b + 17), m1);
        const v16qu o2 = __builtin_shuffle(load16(b), load16(b + 2), m2);
        std::memcpy(d + x * 3, &o0, 16);
        std::memcpy(d + x * 3 + 16, &o1, 16);
        std::memcpy(d + x * 3 + 32, &o2, 16);
      } else {
        constexpr v16qu mask = C == 1 ? v16qu{15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}
                                      : v16qu{12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3};
        const v16qu v = __builtin_shuffle(load16(b), mask);
        std::memcpy(d + x * C, &v, 16);
      }
    }
  }
}

template <class T, int C>
void copy_cpu(const ImageView& src, const ImageView& dst, const IndexMap* maps) {
  parallel_rows(dst.n, dst.h, [&](int64_t n, int64_t y) {
    const IndexMap& m = maps[n];
    const T* s = static_cast<const T*>(src.data) + m.src_n * src.sn;
    T* d = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
    const int64_t sy0 = m.src_y(y, 0), sx0 = m.src_x(y, 0);
    const int64_t step = m.yx * src.sh + m.xx * src.sw;  // source elements per output pixel
    const T* p = s + sy0 * src.sh + sx0 * src.sw;
    const bool dense = src.sc == 1 && src.sw == C && dst.sw == C && dst.sc == 1;
    if (dense && step == C) {
      std::memcpy(d, p, sizeof(T) * C * dst.w);
      return;
    }
    if (dense && step == -C) {
      reverse_pixels<T, C>(p - (dst.w - 1) * C, d, dst.w);
      return;
    }
    for (int64_t x = 0; x < dst.w; ++x, p += step)
      for (int c = 0; c < C; ++c) d[x * dst.sw + c * dst.sc] = p[c * src.sc];
  });
}

// Validates that every map stays inside src, then copies.
void copy(const ImageView& src, const ImageView& dst, const std::vector<IndexMap>& maps, const char* op,
          const char* arg, [[maybe_unused]] Stream stream) {
  for (int64_t n = 0; n < dst.n && dst.h > 0 && dst.w > 0; ++n) {
    const IndexMap& m = maps[n];
    for (int64_t y : {int64_t(0), dst.h - 1})
      for (int64_t x : {int64_t(0), dst.w - 1}) {
        const int64_t sy = m.src_y(y, x), sx = m.src_x(y, x);
        FASTAUG_CHECK(m.src_n >= 0 && m.src_n < src.n && sy >= 0 && sy < src.h && sx >= 0 && sx < src.w, arg,
                      ": sample ", n, " reaches pixel (", sy, ", ", sx, ") outside the ", src.h, "x", src.w, " image");
      }
  }
  if (dst.empty()) return;
  FASTAUG_ROUTE(src, op,
                dispatch_dtype(src.dtype,
                               [&](auto t) {
                                 dispatch_channels(src.c, [&](auto ch) {
                                   copy_cpu<decltype(t), decltype(ch)::value>(src, dst, maps.data());
                                 });
                               }),
                cuda::copy(src, dst, maps.data(), op, stream));
}

void check_same_kind(const ImageView& src, const ImageView& dst) {
  check_pair(src, dst);
  FASTAUG_CHECK(dst.c == src.c && dst.dtype == src.dtype, "dst: expected ", src.c, " channels of ",
                dtype_name(src.dtype), ", got ", dst.c, " of ", dtype_name(dst.dtype));
}

}  // namespace
}  // namespace detail

using detail::IndexMap;

void flip(const ImageView& src, const ImageView& dst, const int32_t* codes, Stream stream) {
  detail::check_same_kind(src, dst);
  detail::check_shape(dst, "dst", src.n, src.h, src.w, src.c);
  std::vector<IndexMap> maps(src.n);
  for (int64_t n = 0; n < src.n; ++n) {
    const int code = codes[n];
    FASTAUG_CHECK(code == 0 || code == 1 || code == -1,
                  "axis: expected 0 (vertical), 1 (horizontal) or -1 "
                  "(both) as cv2.flip, got ",
                  code, " for sample ", n);
    const bool rows = code == 0 || code == -1, cols = code == 1 || code == -1;
    maps[n] = {n, rows ? src.h - 1 : 0, cols ? src.w - 1 : 0, rows ? -1 : 1, 0, 0, cols ? -1 : 1};
  }
  detail::copy(src, dst, maps, "flip", "axis", stream);
}

void rotate90(const ImageView& src, const ImageView& dst, const int32_t* k, Stream stream) {
  detail::check_same_kind(src, dst);
  std::vector<IndexMap> maps(src.n);
  const int64_t H = src.h, W = src.w;
  for (int64_t n = 0; n < src.n; ++n) {
    const int q = ((k[n] % 4) + 4) % 4;
    const bool odd = q % 2 == 1;
    FASTAUG_CHECK(dst.h == (odd ? W : H) && dst.w == (odd ? H : W), "k: sample ", n, " turns by ", k[n],
                  " quarter(s), which gives ", (odd ? W : H), "x", (odd ? H : W), ", but the output is ", dst.h, "x",
                  dst.w);
    switch (q) {  // counter-clockwise, as np.rot90
      case 0:
        maps[n] = {n, 0, 0, 1, 0, 0, 1};
        break;
      case 1:
        maps[n] = {n, 0, W - 1, 0, 1, -1, 0};
        break;
      case 2:
        maps[n] = {n, H - 1, W - 1, -1, 0, 0, -1};
        break;
      default:
        maps[n] = {n, H - 1, 0, 0, -1, 1, 0};
        break;
    }
  }
  FASTAUG_CHECK(dst.n == src.n, "dst: expected ", src.n, " images, got ", dst.n);
  detail::copy(src, dst, maps, "rotate90", "k", stream);
}

void crop(const ImageView& src, const ImageView& dst, const int64_t* top_left, Stream stream) {
  detail::check_same_kind(src, dst);
  FASTAUG_CHECK(dst.n == src.n, "dst: expected ", src.n, " images, got ", dst.n);
  std::vector<IndexMap> maps(src.n);
  for (int64_t n = 0; n < src.n; ++n) maps[n] = {n, top_left[2 * n], top_left[2 * n + 1], 1, 0, 0, 1};
  detail::copy(src, dst, maps, "crop", "boxes", stream);
}

void tiles(const ImageView& src, const ImageView& dst, int64_t stride_y, int64_t stride_x, Stream stream) {
  detail::check_same_kind(src, dst);
  FASTAUG_CHECK(stride_y > 0 && stride_x > 0, "stride: expected positive values, got (", stride_y, ", ", stride_x, ")");
  FASTAUG_CHECK(dst.h > 0 && dst.w > 0 && dst.h <= src.h && dst.w <= src.w,
                "tile: expected a size between 1x1 "
                "and the image's ",
                src.h, "x", src.w, ", got ", dst.h, "x", dst.w);
  const int64_t ty = (src.h - dst.h) / stride_y + 1, tx = (src.w - dst.w) / stride_x + 1;
  FASTAUG_CHECK(dst.n == src.n * ty * tx, "dst: expected ", src.n * ty * tx, " tiles, got ", dst.n);
  std::vector<IndexMap> maps(dst.n);
  for (int64_t t = 0; t < dst.n; ++t) {
    const int64_t r = t % (ty * tx);
    maps[t] = {t / (ty * tx), (r / tx) * stride_y, (r % tx) * stride_x, 1, 0, 0, 1};
  }
  detail::copy(src, dst, maps, "tiles", "tile", stream);
}

}  // namespace fastaug
