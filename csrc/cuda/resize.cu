// resize on CUDA: one thread per output pixel, running resize_pixel.hpp's per-pixel formula of the method
// cv::resize picks (resize_method()); the CPU runs the same formulas in two passes, so both give the same
// bits. The taps of a block's 32 columns and 8 rows are computed once into shared memory by axis_taps(),
// the function that also fills the CPU's tables.
#include "../common/dispatch.hpp"
#include "../ops/backend.hpp"
#include "../ops/resize_pixel.hpp"
#include "launch.cuh"

namespace fastaug::cuda {
namespace {

using namespace cuda_detail;
using detail::ResizeKind;
using detail::ResizeMethod;

constexpr int kMaxTaps = 8;

template <class T, int C>
__global__ void resize_tables_kernel(ImageView src, ImageView dst, ResizeMethod m, int taps_y, int taps_x) {
  __shared__ int64_t index_y[kBlockY * kMaxTaps], index_x[kBlockX * kMaxTaps];
  __shared__ float weight_y[kBlockY * kMaxTaps], weight_x[kBlockX * kMaxTaps];
  __shared__ int32_t q_y[kBlockY * kMaxTaps], q_x[kBlockX * kMaxTaps];
  const int64_t x = static_cast<int64_t>(blockIdx.x) * kBlockX + threadIdx.x;
  const int64_t y = static_cast<int64_t>(blockIdx.y) * kBlockY + threadIdx.y;
  if (threadIdx.y == 0 && x < dst.w) {
    int j = threadIdx.x * taps_x;
    detail::axis_taps(x, src.w, dst.w, m, true, [&](int64_t i, float w) {
      index_x[j] = i;
      q_x[j] = detail::resize_q11(w);
      weight_x[j++] = w;
    });
  }
  if (threadIdx.x == 0 && y < dst.h) {
    int j = threadIdx.y * taps_y;
    detail::axis_taps(y, src.h, dst.h, m, false, [&](int64_t i, float w) {
      index_y[j] = i;
      q_y[j] = detail::resize_q11(w);
      weight_y[j++] = w;
    });
  }
  __syncthreads();
  if (x >= dst.w || y >= dst.h) return;
  const detail::AxisTaps ty{index_y, weight_y, q_y, taps_y}, tx{index_x, weight_x, q_x, taps_x};
  for (int64_t n = blockIdx.z; n < dst.n; n += gridDim.z) {
    const T* s = static_cast<const T*>(src.data) + n * src.sn;
    T* out = pixel_ptr<T>(dst, n, y, x);
    if constexpr (sizeof(T) == 1) {
      if (m.kind == ResizeKind::FixedLinear) {
        detail::resize_fixed_pixel<C>(s, src.sh, src.sw, src.sc, ty, tx, threadIdx.y, threadIdx.x, out, dst.sc);
        continue;
      }
    }
    detail::resize_separable_pixel<T, C>(s, src.sh, src.sw, src.sc, ty, tx, threadIdx.y, threadIdx.x, out, dst.sc);
  }
}

// Each pixel's taps visited in place (more taps than the shared tables hold: area reductions beyond 7x;
// or more rows than a grid holds): the separable sums in resize_separable_pixel's order, or the two taps
// of fixed-point linear gathered for resize_fixed_pixel.
template <class T, int C>
__global__ void resize_visit_kernel(ImageView src, ImageView dst, ResizeMethod m) {
  FASTAUG_PIXEL_LOOP(n, y, x, dst.n, dst.h, dst.w) {
    const T* s = static_cast<const T*>(src.data) + n * src.sn;
    if constexpr (sizeof(T) == 1) {
      if (m.kind == ResizeKind::FixedLinear) {
        int64_t iy[2], ix[2];
        float wy[2], wx[2];
        int32_t qy[2], qx[2];
        int j = 0, k = 0;
        detail::axis_taps(y, src.h, dst.h, m, false,
                          [&](int64_t i, float w) { iy[j] = i, wy[j] = w, qy[j++] = detail::resize_q11(w); });
        detail::axis_taps(x, src.w, dst.w, m, true,
                          [&](int64_t i, float w) { ix[k] = i, wx[k] = w, qx[k++] = detail::resize_q11(w); });
        const detail::AxisTaps ty{iy, wy, qy, 2}, tx{ix, wx, qx, 2};
        detail::resize_fixed_pixel<C>(s, src.sh, src.sw, src.sc, ty, tx, 0, 0, pixel_ptr<T>(dst, n, y, x), dst.sc);
        continue;
      }
    }
    float acc[C] = {};
    detail::axis_taps(y, src.h, dst.h, m, false, [&](int64_t sy, float wy) {
      const T* row = s + sy * src.sh;
      float part[C] = {};
      detail::axis_taps(x, src.w, dst.w, m, true, [&](int64_t sx, float wx) {
        const T* p = row + sx * src.sw;
        for (int c = 0; c < C; ++c) part[c] += wx * static_cast<float>(p[c * src.sc]);
      });
      for (int c = 0; c < C; ++c) acc[c] += wy * part[c];
    });
    T* out = pixel_ptr<T>(dst, n, y, x);
    for (int c = 0; c < C; ++c) out[c * dst.sc] = detail::saturate_cast<T>(acc[c]);
  }
}

template <class T, int C>
__global__ void resize_area_fast_kernel(ImageView src, ImageView dst, int64_t fy, int64_t fx) {
  FASTAUG_PIXEL_LOOP(n, y, x, dst.n, dst.h, dst.w) {
    detail::resize_area_fast_pixel<T, C>(static_cast<const T*>(src.data) + n * src.sn, src.sh, src.sw, src.sc, fy, fx,
                                         y, x, pixel_ptr<T>(dst, n, y, x), dst.sc);
  }
}

}  // namespace

void resize(const ImageView& src, const ImageView& dst, const ResizeMethod& m, Stream stream) {
  DeviceScope scope(src, "resize");
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    detail::dispatch_channels(src.c, [&](auto ch) {
      using T = decltype(t);
      constexpr int C = decltype(ch)::value;
      const Grid g = pixel_grid(dst.w, dst.h, dst.n);
      const cudaStream_t s = stream_of(stream);
      const int taps_y = detail::axis_tap_count(src.h, dst.h, m.interp, m.area_down);
      const int taps_x = detail::axis_tap_count(src.w, dst.w, m.interp, m.area_down);
      if (m.kind == ResizeKind::AreaFast)
        resize_area_fast_kernel<T, C><<<g.blocks, g.threads, 0, s>>>(src, dst, m.fy, m.fx);
      else if (taps_y <= kMaxTaps && taps_x <= kMaxTaps && (dst.h + kBlockY - 1) / kBlockY <= 65535)
        resize_tables_kernel<T, C><<<g.blocks, g.threads, 0, s>>>(src, dst, m, taps_y, taps_x);
      else
        resize_visit_kernel<T, C><<<g.blocks, g.threads, 0, s>>>(src, dst, m);
      check_launch("resize");
    });
  });
}

}  // namespace fastaug::cuda
