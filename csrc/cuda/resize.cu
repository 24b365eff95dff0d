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
  FASTAUG_PIXEL_LOOP(n, y, x, dst.n, dst.h, dst.w) {
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

// The same sums with the taps of the block's 32 columns and 8 rows computed once into shared memory (a
// pixel's taps were most of its work) and applied by resize_pixel, the CPU's per-pixel function over
// its tap tables: the same weights in the same order, so the same bits.
constexpr int kMaxTaps = 8;

template <class T, int C>
__global__ void resize_tables_kernel(ImageView src, ImageView dst, Interp interp, bool area_down, int taps_y,
                                     int taps_x) {
  __shared__ int64_t index_y[kBlockY * kMaxTaps], index_x[kBlockX * kMaxTaps];
  __shared__ float weight_y[kBlockY * kMaxTaps], weight_x[kBlockX * kMaxTaps];
  const int64_t x = static_cast<int64_t>(blockIdx.x) * kBlockX + threadIdx.x;
  const int64_t y = static_cast<int64_t>(blockIdx.y) * kBlockY + threadIdx.y;
  if (threadIdx.y == 0 && x < dst.w) {
    int j = threadIdx.x * taps_x;
    detail::axis_taps(x, src.w, dst.w, interp, area_down, [&](int64_t i, float w) {
      index_x[j] = i;
      weight_x[j++] = w;
    });
  }
  if (threadIdx.x == 0 && y < dst.h) {
    int j = threadIdx.y * taps_y;
    detail::axis_taps(y, src.h, dst.h, interp, area_down, [&](int64_t i, float w) {
      index_y[j] = i;
      weight_y[j++] = w;
    });
  }
  __syncthreads();
  if (x >= dst.w || y >= dst.h) return;
  const detail::AxisTaps ty{index_y, weight_y, taps_y}, tx{index_x, weight_x, taps_x};
  for (int64_t n = blockIdx.z; n < dst.n; n += gridDim.z)
    detail::resize_pixel<T, C>(static_cast<const T*>(src.data) + n * src.sn, src.sh, src.sw, src.sc, ty, tx,
                               threadIdx.y, threadIdx.x, pixel_ptr<T>(dst, n, y, x), dst.sc);
}

}  // namespace

void resize(const ImageView& src, const ImageView& dst, Interp interp, bool area_down, Stream stream) {
  DeviceScope scope(src, "resize");
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    detail::dispatch_channels(src.c, [&](auto ch) {
      using T = decltype(t);
      constexpr int C = decltype(ch)::value;
      const Grid g = pixel_grid(dst.w, dst.h, dst.n);
      const int taps_y = detail::axis_tap_count(src.h, dst.h, interp, area_down);
      const int taps_x = detail::axis_tap_count(src.w, dst.w, interp, area_down);
      if (taps_y <= kMaxTaps && taps_x <= kMaxTaps && (dst.h + kBlockY - 1) / kBlockY <= 65535)
        resize_tables_kernel<T, C><<<g.blocks, g.threads, 0, stream_of(stream)>>>(src, dst, interp, area_down, taps_y,
                                                                                 taps_x);
      else
        resize_kernel<T, C><<<g.blocks, g.threads, 0, stream_of(stream)>>>(src, dst, interp, area_down);
      check_launch("resize");
    });
  });
}

}  // namespace fastaug::cuda
