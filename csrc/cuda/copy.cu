// flip, rotate90, crop and tiles on CUDA: the same IndexMap per output image as the CPU loop, in the
// kernel's arguments; one thread per output pixel.
#include "../common/dispatch.hpp"
#include "../ops/backend.hpp"
#include "../ops/copy_pixel.hpp"
#include "launch.cuh"

namespace fastaug::cuda {
namespace {

using namespace cuda_detail;

template <class T, int C>
__global__ void copy_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, Params<detail::IndexMap> maps) {
  FASTAUG_PIXEL_LOOP(k, y, x, count, dst.h, dst.w) {
    const detail::IndexMap& m = maps.v[k];
    const T* p = pixel_ptr<const T>(src, m.src_n, m.src_y(y, x), m.src_x(y, x));
    T* out = pixel_ptr<T>(dst, first + k, y, x);
    for (int c = 0; c < C; ++c) out[c * dst.sc] = p[c * src.sc];
  }
}

}  // namespace

void copy(const ImageView& src, const ImageView& dst, const detail::IndexMap* maps, const char* op, Stream stream) {
  DeviceScope scope(src, op);
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    detail::dispatch_channels(src.c, [&](auto ch) {
      for_chunks(maps, dst.n, 1, op, "index maps",
                 [&](int64_t first, int64_t count, const Params<detail::IndexMap>& p) {
                   const Grid g = pixel_grid(dst.w, dst.h, count);
                   copy_kernel<decltype(t), decltype(ch)::value>
                       <<<g.blocks, g.threads, 0, stream_of(stream)>>>(src, dst, first, count, p);
                 });
    });
  });
}

}  // namespace fastaug::cuda
