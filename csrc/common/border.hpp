// Border extrapolation (cv::borderInterpolate), in closed form so that far-away coordinates cost O(1).
#pragma once
#include <cstdint>

#include "fastaug/types.hpp"
#include "hd.hpp"

namespace fastaug::detail {

FASTAUG_HD int64_t floor_mod(int64_t a, int64_t m) {
  int64_t r = a % m;
  return r < 0 ? r + m : r;
}

// Maps coordinate i to [0, n), or returns -1 for Border::Constant outside the image.
FASTAUG_HD int64_t map_border(int64_t i, int64_t n, Border border) {
  if (i >= 0 && i < n) return i;
  switch (border) {
    case Border::Constant:
      return -1;
    case Border::Replicate:
      return i < 0 ? 0 : n - 1;
    case Border::Reflect: {  // fedcba|abcdefgh|hgfedcb
      int64_t m = floor_mod(i, 2 * n);
      return m < n ? m : 2 * n - 1 - m;
    }
    case Border::Reflect101: {  // gfedcb|abcdefgh|gfedcba
      if (n == 1) return 0;
      int64_t m = floor_mod(i, 2 * n - 2);
      return m < n ? m : 2 * n - 2 - m;
    }
    case Border::Wrap:
      return floor_mod(i, n);
  }
  return -1;
}

}  // namespace fastaug::detail
