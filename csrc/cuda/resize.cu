// resize on CUDA: one thread per output pixel; the taps of its row and column come from axis_taps(),
// the function that also fills the CPU's tables, so both sum the same weights in the same order.
#include "../common/dispatch.hpp"
#include "../ops/backend.hpp"
#include "../ops/resize_pixel.hpp"
#include "launch.cuh"

namespace fastaug::cuda {
namespace {

using namespace cuda_detail;

template <class T, int C>
__global__ void resize_kernel(ImageView src, ImageView dst, Interp interp, bool area_down) {
  FASTAUG_GRID_LOOP(i, dst.n * dst.h * dst.w) {
    const int64_t x = i % dst.w, y = (i / dst.w) % dst.h, n = i / (dst.w * dst.h);
    const T* s = static_cast<const T*>(src.data) + n * src.sn;
    float acc[C] = {};
    detail::axis_taps(y, src.h, dst.h, interp, area_down, [&](int64_t sy, float wy) {
      const T* row = s + sy * src.sh;
      detail::axis_taps(x, src.w, dst.w, interp, area_down, [&](int64_t sx, float wx) {
        const float w = wy * wx;
        const T* p = row + sx * src.sw;
        for (int c = 0; c < C; ++c) acc[c] += w * static_cast<float>(p[c * src.sc]);
      });
    });
    T* out = pixel_ptr<T>(dst, n, y, x);
    for (int c = 0; c < C; ++c) out[c * dst.sc] = detail::saturate_cast<T>(acc[c]);
  }
}

}  // namespace

void resize(const ImageView& src, const ImageView& dst, Interp interp, bool area_down, Stream stream) {
  DeviceScope scope(src, "resize");
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    detail::dispatch_channels(src.c, [&](auto ch) {
      resize_kernel<decltype(t), decltype(ch)::value>
          <<<blocks_for(dst.n * dst.h * dst.w), kThreads, 0, stream_of(stream)>>>(src, dst, interp, area_down);
      check_launch("resize");
    });
  });
}

}  // namespace fastaug::cuda
