// warp_affine / warp_perspective on CUDA: one thread per output pixel (a pixel_grid launch), warp_pixel's
// maths (shared with the CPU loop), the inverse maps of a chunk of samples in the kernel's arguments.
// Channels-last sources (the common case) take the Dense variant, whose pixel strides are compile-time
// constants, as the CPU's interior path does.
#include "../common/dispatch.hpp"
#include "../ops/backend.hpp"
#include "../ops/warp_pixel.hpp"
#include "launch.cuh"

namespace fastaug::cuda {
namespace {

using namespace cuda_detail;

struct Fill {
  float v[4];
};

template <class T, int C, Interp I, bool Perspective, bool Dense>
__global__ void warp_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, Params<float> maps,
                            Border border, Fill fill) {
  FASTAUG_PIXEL_LOOP(k, y, x, count, dst.h, dst.w) {
    const int64_t n = first + k;
    const detail::SrcImage<T, C, Dense> s{
        static_cast<const T*>(src.data) + n * src.sn, src.h, src.w, src.sh, src.sw, src.sc};
    detail::warp_pixel<I, Perspective>(s, &maps.v[k * 9], x, y, border, fill.v, pixel_ptr<T>(dst, n, y, x), dst.sc);
  }
}

}  // namespace

void warp(const ImageView& src, const ImageView& dst, const float* minv, bool perspective, Interp interp, Border border,
          const float fill[4], Stream stream) {
  const char* op = perspective ? "warp_perspective" : "warp_affine";
  DeviceScope scope(src, op);
  Fill f{{fill[0], fill[1], fill[2], fill[3]}};
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    using T = decltype(t);
    detail::dispatch_channels(src.c, [&](auto ch) {
      constexpr int C = decltype(ch)::value;
      detail::dispatch_interp(interp, [&](auto ip) {
        constexpr Interp I = decltype(ip)::value;
        for_chunks(minv, src.n, 9, op, "inverse maps", [&](int64_t first, int64_t count, const Params<float>& p) {
          const Grid g = pixel_grid(dst.w, dst.h, count);
          const cudaStream_t s = stream_of(stream);
          const bool dense = src.sc == 1 && src.sw == C;
          if (perspective && dense)
            warp_kernel<T, C, I, true, true><<<g.blocks, g.threads, 0, s>>>(src, dst, first, count, p, border, f);
          else if (perspective)
            warp_kernel<T, C, I, true, false><<<g.blocks, g.threads, 0, s>>>(src, dst, first, count, p, border, f);
          else if (dense)
            warp_kernel<T, C, I, false, true><<<g.blocks, g.threads, 0, s>>>(src, dst, first, count, p, border, f);
          else
            warp_kernel<T, C, I, false, false><<<g.blocks, g.threads, 0, s>>>(src, dst, first, count, p, border, f);
        });
      });
    });
  });
}

}  // namespace fastaug::cuda
