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

// The tables of one axis (src_len -> dst_len): axis_taps() for every output index.
Table make_table(int64_t src_len, int64_t dst_len, Interp interp, bool area_down) {
  Table t;
  t.taps = axis_tap_count(src_len, dst_len, interp, area_down);
  for (int64_t d = 0; d < dst_len; ++d) {
    const int used = axis_taps(d, src_len, dst_len, interp, area_down, [&](int64_t i, float w) {
      t.index.push_back(i);
      t.weight.push_back(w);
    });
    if (used != t.taps) fail("resize: internal table error (", used, " taps, expected ", t.taps, ")");
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

void resize(const ImageView& src, const ImageView& dst, Interp interp, Stream stream) {
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
  }), cuda::resize(src, dst, interp, area_down, stream));
}

}  // namespace fastaug
