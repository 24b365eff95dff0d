// edges on CUDA: edge_pixel (shared with the CPU loop) per output pixel. sobel itself runs through the
// separable filter (filter.cu).
#include "../ops/backend.hpp"
#include "../ops/sobel_pixel.hpp"
#include "launch.cuh"

namespace fastaug::cuda {
namespace {

using namespace cuda_detail;

__global__ void edges_kernel(ImageView src, ImageView dst) {
  FASTAUG_PIXEL_LOOP(n, y, x, dst.n, dst.h, dst.w) {
    const uint8_t* s = static_cast<const uint8_t*>(src.data) + n * src.sn;
    *pixel_ptr<uint8_t>(dst, n, y, x) = detail::edge_pixel(s, src.h, src.w, src.sh, src.sw, y, x);
  }
}

}  // namespace

void edges(const ImageView& src, const ImageView& dst, Stream stream) {
  DeviceScope scope(src, "edges");
  const Grid g = pixel_grid(dst.w, dst.h, dst.n);
  edges_kernel<<<g.blocks, g.threads, 0, stream_of(stream)>>>(src, dst);
  check_launch("edges");
}

}  // namespace fastaug::cuda
