// sobel (cv2.Sobel, float32 out, through the separable filter) and edges (fused 3x3 magnitude).
#include <algorithm>
#include <cmath>
#include <vector>

#include "../common/dispatch.hpp"
#include "../common/parallel.hpp"
#include "backend.hpp"
#include "fastaug/filters.hpp"
#include "filter_pixel.hpp"
#include "sobel_pixel.hpp"

namespace fastaug {

void sobel(const ImageView& src, const ImageView& dst, int dx, int dy, int ksize, double scale, double delta,
           Border border, Stream stream) {
  using namespace detail;
  check_pair(src, dst);
  check_shape(dst, "dst", src.n, src.h, src.w, src.c);
  check_dtype(dst, "dst", DType::Float32);
  check_border(border);
  FASTAUG_CHECK(ksize == -1 || ksize == 1 || ksize == 3 || ksize == 5 || ksize == 7,
                "ksize: expected 1, 3, 5, 7 or -1 (Scharr), got ", ksize);
  FASTAUG_CHECK(dx >= 0 && dy >= 0 && dx + dy > 0, "dx, dy: expected non-negative orders with dx + dy > 0, got (", dx,
                ", ", dy, ")");
  if (ksize == -1)
    FASTAUG_CHECK(dx + dy == 1, "dx, dy: Scharr (ksize=-1) takes one first derivative, got (", dx, ", ", dy, ")");
  else
    FASTAUG_CHECK(dx < std::max(ksize, 3) && dy < std::max(ksize, 3), "dx, dy: orders must be below ksize ",
                  std::max(ksize, 3), ", got (", dx, ", ", dy, ")");
  FASTAUG_CHECK(std::isfinite(scale) && std::isfinite(delta), "scale, delta: expected finite values");
  const int kw = (ksize == 1 && dx == 0) ? 1 : (ksize == -1 ? 3 : std::max(ksize, 3));
  const int kh = (ksize == 1 && dy == 0) ? 1 : (ksize == -1 ? 3 : std::max(ksize, 3));
  float kx1[7], ky1[7];
  deriv_kernel(dx, ksize, kx1);
  deriv_kernel(dy, ksize, ky1);
  if (scale != 1.0) {  // as cv::Sobel: the scale goes into the kernel of the derivative axis
    float* k = dx == 0 ? kx1 : ky1;
    for (int i = 0; i < (dx == 0 ? kw : kh); ++i) k[i] = static_cast<float>(k[i] * scale);
  }
  std::vector<float> kx(src.n * kw), ky(src.n * kh);
  for (int64_t n = 0; n < src.n; ++n) {
    std::copy(kx1, kx1 + kw, &kx[n * kw]);
    std::copy(ky1, ky1 + kh, &ky[n * kh]);
  }
  run_sep_filter(src, dst, kx.data(), kw, ky.data(), kh, border, nullptr, delta, "sobel", stream);
}

void edges(const ImageView& src, const ImageView& dst, [[maybe_unused]] Stream stream) {
  using namespace detail;
  check_pair(src, dst);
  FASTAUG_CHECK(src.c == 1 && src.dtype == DType::UInt8, "img: edges expects a one-channel uint8 image, got ", src.c,
                " channel(s) of ", dtype_name(src.dtype));
  check_shape(dst, "dst", src.n, src.h, src.w, 1);
  check_dtype(dst, "dst", DType::UInt8);
  if (dst.empty()) return;
  FASTAUG_ROUTE(src, "edges",
                parallel_rows(src.n, src.h,
                              [&](int64_t n, int64_t y) {
                                const uint8_t* s = static_cast<const uint8_t*>(src.data) + n * src.sn;
                                uint8_t* out = static_cast<uint8_t*>(dst.data) + n * dst.sn + y * dst.sh;
                                for (int64_t x = 0; x < src.w; ++x)
                                  out[x * dst.sw] = edge_pixel(s, src.h, src.w, src.sh, src.sw, y, x);
                              }),
                cuda::edges(src, dst, stream));
}

}  // namespace fastaug
