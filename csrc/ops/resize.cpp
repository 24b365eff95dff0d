// resize: OpenCV's per-axis tables (cv::resize) for nearest, linear, cubic and area, then one loop.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../common/dispatch.hpp"
#include "../common/interp.hpp"
#include "../common/parallel.hpp"
#include "backend.hpp"
#include "fastaug/ops.hpp"
#include "resize_pixel.hpp"

namespace fastaug {
namespace detail {
namespace {

struct Table {
  std::vector<int64_t> index;
  std::vector<float> weight;
  int taps = 1;
  AxisTaps view() const { return {index.data(), weight.data(), taps}; }
};

int64_t clampi(int64_t v, int64_t n) { return std::min(std::max<int64_t>(v, 0), n - 1); }

// Table for one axis: src_len -> dst_len. `area_down` selects OpenCV's exact area weights (used when
// both axes shrink); otherwise INTER_AREA on an enlarged axis uses OpenCV's bilinear variant.
Table make_table(int64_t src_len, int64_t dst_len, Interp interp, bool area_down) {
  Table t;
  const double scale = static_cast<double>(src_len) / static_cast<double>(dst_len);
  auto add = [&](int64_t i, double w) {
    t.index.push_back(clampi(i, src_len));
    t.weight.push_back(static_cast<float>(w));
  };
  if (interp == Interp::Nearest) {
    for (int64_t d = 0; d < dst_len; ++d) add(static_cast<int64_t>(std::floor(d * scale)), 1.0);
  } else if (interp == Interp::Cubic) {
    t.taps = 4;
    for (int64_t d = 0; d < dst_len; ++d) {
      const double f = (d + 0.5) * scale - 0.5;
      const int64_t s = static_cast<int64_t>(std::floor(f));
      float w[4];
      cubic_weights(static_cast<float>(f - s), w);
      for (int k = 0; k < 4; ++k) add(s - 1 + k, w[k]);
    }
  } else if (interp == Interp::Area && area_down) {
    // cv::computeResizeAreaTab: each output cell averages the source cells it covers, by coverage.
    t.taps = static_cast<int>(std::ceil(scale)) + 1;
    for (int64_t d = 0; d < dst_len; ++d) {
      const double f1 = d * scale, f2 = f1 + scale;
      const double cell = std::min(scale, src_len - f1);
      int64_t s1 = static_cast<int64_t>(std::ceil(f1)), s2 = static_cast<int64_t>(std::floor(f2));
      s2 = std::min(s2, src_len - 1);
      s1 = std::min(s1, s2);
      int used = 0;
      if (s1 - f1 > 1e-3) add(s1 - 1, (s1 - f1) / cell), ++used;
      for (int64_t s = s1; s < s2; ++s) add(s, 1.0 / cell), ++used;
      if (f2 - s2 > 1e-3) add(s2, std::min(std::min(f2 - s2, 1.0), cell) / cell), ++used;
      for (; used < t.taps; ++used) add(s1, 0.0);
      if (used > t.taps) fail("resize: internal area table overflow");
    }
  } else {  // linear, or area when enlarging
    t.taps = 2;
    for (int64_t d = 0; d < dst_len; ++d) {
      int64_t s;
      double f;
      if (interp == Interp::Area) {
        s = static_cast<int64_t>(std::floor(d * scale));
        f = (d + 1) - (s + 1) / scale;
        f = f <= 0 ? 0.0 : f - std::floor(f);
      } else {
        const double c = (d + 0.5) * scale - 0.5;
        s = static_cast<int64_t>(std::floor(c));
        f = c - s;
      }
      if (s < 0) s = 0, f = 0;
      if (s >= src_len - 1) s = src_len - 1, f = 0;
      add(s, 1.0 - f);
      add(s + 1, f);
    }
  }
  return t;
}

template <class T, int C>
void resize_cpu(const ImageView& src, const ImageView& dst, const AxisTaps& ty, const AxisTaps& tx) {
  parallel_rows(dst.n, dst.h, [&](int64_t n, int64_t y) {
    const T* s = static_cast<const T*>(src.data) + n * src.sn;
    T* row = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
    for (int64_t x = 0; x < dst.w; ++x)
      resize_pixel<T, C>(s, src.sh, src.sw, src.sc, ty, tx, y, x, row + x * dst.sw, dst.sc);
  });
}

}  // namespace
}  // namespace detail

void resize(const ImageView& src, const ImageView& dst, Interp interp, Stream) {
  using namespace detail;
  check_pair(src, dst);
  FASTAUG_CHECK(dst.n == src.n && dst.c == src.c && dst.dtype == src.dtype, "dst: expected ", src.n,
                " images of ", src.c, " channels and dtype ", dtype_name(src.dtype), ", got shape ", shape_str(dst),
                " ", dtype_name(dst.dtype));
  FASTAUG_CHECK(static_cast<int>(interp) >= 0 && static_cast<int>(interp) <= 3,
                "interp: expected nearest, linear, cubic or area, got code ", static_cast<int>(interp));
  FASTAUG_CHECK(dst.h > 0 && dst.w > 0, "size: expected a positive height and width, got ", dst.h, "x", dst.w);
  if (dst.empty()) return;
  FASTAUG_CHECK(src.h > 0 && src.w > 0, "img: cannot resize an empty image of shape ", shape_str(src));
  const bool area_down = interp == Interp::Area && src.h >= dst.h && src.w >= dst.w;
  const Table ty = make_table(src.h, dst.h, interp, area_down), tx = make_table(src.w, dst.w, interp, area_down);
  FASTAUG_ROUTE(src, "resize", dispatch_dtype(src.dtype, [&](auto t) {
    dispatch_channels(src.c, [&](auto ch) {
      resize_cpu<decltype(t), decltype(ch)::value>(src, dst, ty.view(), tx.view());
    });
  }), fail_no_cuda("resize"));
}

}  // namespace fastaug
