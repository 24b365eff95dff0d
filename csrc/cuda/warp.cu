// warp_affine / warp_perspective on CUDA: one thread per output pixel (a pixel_grid launch), warp_pixel's
// maths (shared with the CPU loop), the inverse maps of a chunk of samples in the kernel's arguments (with,
// for a ragged batch, each image's pointer, size and strides). Channels-last sources (the common case) take
// the Dense variant, whose pixel strides are compile-time constants, as the CPU's interior path does.
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

// The kernel's view of a chunk of samples: sample n (k-th of the chunk) as a SrcImage, and its inverse map.
struct BatchSource {
  ImageView src;
  Params<float> maps;  // 9 per sample
  template <class T, int C, bool Dense>
  __device__ detail::SrcImage<T, C, Dense> image(int64_t, int64_t n) const {
    return {static_cast<const T*>(src.data) + n * src.sn, src.h, src.w, src.sh, src.sw, src.sc};
  }
  __device__ const float* map(int64_t k) const { return &maps.v[k * 9]; }
};

struct RaggedSample {
  RaggedImage image;
  float map[9];
};

struct RaggedSource {
  Params<RaggedSample> samples;
  template <class T, int C, bool Dense>
  __device__ detail::SrcImage<T, C, Dense> image(int64_t k, int64_t) const {
    const RaggedImage& r = samples.v[k].image;
    return {static_cast<const T*>(r.data), r.h, r.w, r.sh, r.sw, r.sc};
  }
  __device__ const float* map(int64_t k) const { return samples.v[k].map; }
};

template <class T, int C, Interp I, bool Perspective, bool Dense, class Source>
__global__ void warp_kernel(Source source, ImageView dst, int64_t first, int64_t count, Border border, Fill fill) {
  FASTAUG_PIXEL_LOOP(k, y, x, count, dst.h, dst.w) {
    const int64_t n = first + k;
    detail::warp_pixel<I, Perspective>(source.template image<T, C, Dense>(k, n), source.map(k), x, y, border, fill.v,
                                       pixel_ptr<T>(dst, n, y, x), dst.sc);
  }
}

// Launches warp_kernel over the chunks of samples that for_chunks cuts from host (per_sample values of P a
// sample); make(params) is the kernel's Source for a chunk. dense: every source image has channels-last rows.
template <class P, class Make>
void launch_warp(DType dtype, int64_t channels, bool dense, const ImageView& dst, const P* host, int64_t per_sample,
                 const char* what, Make&& make, bool perspective, Interp interp, Border border, const float fill[4],
                 Stream stream) {
  const char* op = perspective ? "warp_perspective" : "warp_affine";
  const Fill f{{fill[0], fill[1], fill[2], fill[3]}};
  detail::dispatch_dtype(dtype, [&](auto t) {
    using T = decltype(t);
    detail::dispatch_channels(channels, [&](auto ch) {
      constexpr int C = decltype(ch)::value;
      detail::dispatch_interp(interp, [&](auto ip) {
        constexpr Interp I = decltype(ip)::value;
        for_chunks(host, dst.n, per_sample, op, what, [&](int64_t first, int64_t count, const Params<P>& p) {
          const auto source = make(p);
          using Source = decltype(source);
          const Grid g = pixel_grid(dst.w, dst.h, count);
          const cudaStream_t s = stream_of(stream);
          if (perspective && dense)
            warp_kernel<T, C, I, true, true, Source>
                <<<g.blocks, g.threads, 0, s>>>(source, dst, first, count, border, f);
          else if (perspective)
            warp_kernel<T, C, I, true, false, Source>
                <<<g.blocks, g.threads, 0, s>>>(source, dst, first, count, border, f);
          else if (dense)
            warp_kernel<T, C, I, false, true, Source>
                <<<g.blocks, g.threads, 0, s>>>(source, dst, first, count, border, f);
          else
            warp_kernel<T, C, I, false, false, Source>
                <<<g.blocks, g.threads, 0, s>>>(source, dst, first, count, border, f);
        });
      });
    });
  });
}

}  // namespace

void warp(const ImageView& src, const ImageView& dst, const float* minv, bool perspective, Interp interp, Border border,
          const float fill[4], Stream stream) {
  DeviceScope scope(src, perspective ? "warp_perspective" : "warp_affine");
  launch_warp(
      src.dtype, src.c, src.sc == 1 && src.sw == src.c, dst, minv, 9, "inverse maps",
      [&](const Params<float>& p) { return BatchSource{src, p}; }, perspective, interp, border, fill, stream);
}

void warp(const RaggedView& src, const ImageView& dst, const float* minv, bool perspective, Interp interp,
          Border border, const float fill[4], Stream stream) {
  DeviceScope scope(src.image(0), perspective ? "warp_perspective" : "warp_affine");
  std::vector<RaggedSample> samples(static_cast<size_t>(src.n));
  bool dense = true;
  for (int64_t n = 0; n < src.n; ++n) {
    samples[n].image = src.images[n];
    for (int k = 0; k < 9; ++k) samples[n].map[k] = minv[n * 9 + k];
    dense = dense && src.images[n].sc == 1 && src.images[n].sw == src.c;
  }
  launch_warp(
      src.dtype, src.c, dense, dst, samples.data(), 1, "images",
      [&](const Params<RaggedSample>& p) { return RaggedSource{p}; }, perspective, interp, border, fill, stream);
}

}  // namespace fastaug::cuda
