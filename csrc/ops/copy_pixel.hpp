// Integer index maps: the maths of flip, rotate90, crop and tiles, shared by every backend.
// dst(n, y, x) = src(src_n, y0 + yy*y + yx*x, x0 + xy*y + xx*x).
#pragma once
#include <cstdint>

#include "../common/hd.hpp"

namespace fastaug::detail {

struct IndexMap {
  int64_t src_n, y0, x0, yy, yx, xy, xx;
  FASTAUG_HD int64_t src_y(int64_t y, int64_t x) const { return y0 + yy * y + yx * x; }
  FASTAUG_HD int64_t src_x(int64_t y, int64_t x) const { return x0 + xy * y + xx * x; }
};

}  // namespace fastaug::detail
