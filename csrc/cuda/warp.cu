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

// ---- backward --------------------------------------------------------------------------------------------

// Zeroes every value of a float32 view (any strides): the backward's image gradient before its scatter.
template <int C>
__global__ void zero_kernel(ImageView v) {
  FASTAUG_PIXEL_LOOP(n, y, x, v.n, v.h, v.w) {
    float* p = pixel_ptr<float>(v, n, y, x);
    for (int c = 0; c < C; ++c) p[c * v.sc] = 0.f;
  }
}

// Adds each thread's v[9] into out[9] (atomicAdd on doubles): a warp shuffle reduction, then one sum per warp
// in shared memory. Every thread of the block must call it (it synchronises the block).
__device__ void block_add(const double v[9], double* out) {
  constexpr int kWarps = kBlockX * kBlockY / 32;
  __shared__ double part[kWarps][9];
  const int t = threadIdx.y * blockDim.x + threadIdx.x, lane = t % 32, warp = t / 32;
  for (int j = 0; j < 9; ++j) {
    double s = v[j];
    for (int off = 16; off > 0; off /= 2) s += __shfl_down_sync(0xffffffffu, s, off);
    if (lane == 0) part[warp][j] = s;
  }
  __syncthreads();
  if (t < 9) {
    double s = 0.0;
    for (int k = 0; k < kWarps; ++k) s += part[k][t];
    if (s != 0.0) atomicAdd(out + t, s);
  }
  __syncthreads();  // part is reused by the block's next sample
}

struct AtomicAdd {
  __device__ void operator()(float* p, float v) const { atomicAdd(p, v); }
};

// One thread per output pixel (a pixel_grid launch: a block's threads share one sample, blockIdx.z), the image
// gradient scattered with atomicAdd, the matrix gradient summed per thread in double, then per block (block_add)
// into dm (9 doubles per sample). src.data / grad_src.data null: not asked for.
template <int C, Interp I, bool Perspective, bool Dense>
__global__ void warp_backward_kernel(ImageView grad, ImageView src, ImageView grad_src, int64_t first, int64_t count,
                                     Params<float> maps, Border border, Fill fill, double* dm) {
  for (int64_t k = blockIdx.z; k < count; k += gridDim.z) {
    const int64_t n = first + k;
    const detail::SrcImage<float, C, Dense> s{
        src.data ? static_cast<const float*>(src.data) + n * src.sn : nullptr, src.h, src.w, src.sh, src.sw, src.sc};
    const detail::GradImage gi{grad_src.data ? static_cast<float*>(grad_src.data) + n * grad_src.sn : nullptr,
                               grad_src.sh, grad_src.sw, grad_src.sc};
    const int64_t h = src.data ? src.h : grad_src.h, w = src.data ? src.w : grad_src.w;
    double acc[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t y = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; y < grad.h;
         y += static_cast<int64_t>(gridDim.y) * blockDim.y)
      for (int64_t x = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; x < grad.w;
           x += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float* gp = pixel_ptr<const float>(grad, n, y, x);
        float g[C];
        for (int c = 0; c < C; ++c) g[c] = gp[c * grad.sc];
        detail::warp_backward_pixel<I, Perspective, C, Dense>(dm && src.data ? &s : nullptr, h, w, &maps.v[k * 9], x, y,
                                                              border, fill.v, g, gi, AtomicAdd{}, acc);
      }
    if (dm) block_add(acc, dm + n * 9);
  }
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

void warp_backward(const ImageView& grad, const ImageView* src, const ImageView* grad_src, const float* minv,
                   bool perspective, Interp interp, Border border, const float fill[4], double* grad_inv,
                   Stream stream) {
  const char* op = perspective ? "warp_perspective_backward" : "warp_affine_backward";
  DeviceScope scope(grad, op);
  const cudaStream_t st = stream_of(stream);
  ImageView none = grad;
  none.data = nullptr;
  const ImageView s = src ? *src : none, gs = grad_src ? *grad_src : none;
  const bool dense = src && src->sc == 1 && src->sw == src->c;
  const Fill f{{fill[0], fill[1], fill[2], fill[3]}};
  double* dm = nullptr;
  const size_t dm_bytes = static_cast<size_t>(grad.n) * 9 * sizeof(double);
  const auto ok = [&](cudaError_t e) {
    if (e != cudaSuccess) check_launch(op);
  };
  if (grad_inv) {
    ok(cudaMallocAsync(reinterpret_cast<void**>(&dm), dm_bytes, st));
    ok(cudaMemsetAsync(dm, 0, dm_bytes, st));
  }
  detail::dispatch_channels(grad.c, [&](auto ch) {
    constexpr int C = decltype(ch)::value;
    if (grad_src && !grad_src->empty()) {
      const Grid z = pixel_grid(gs.w, gs.h, gs.n);
      zero_kernel<C><<<z.blocks, z.threads, 0, st>>>(gs);
      check_launch(op);
    }
    if (grad.h == 0 || grad.w == 0) return;
    const auto launch = [&](auto ip) {
      constexpr Interp I = decltype(ip)::value;
      for_chunks(minv, grad.n, 9, op, "inverse maps", [&](int64_t first, int64_t count, const Params<float>& p) {
        const Grid g = pixel_grid(grad.w, grad.h, count);
        if (perspective && dense)
          warp_backward_kernel<C, I, true, true>
              <<<g.blocks, g.threads, 0, st>>>(grad, s, gs, first, count, p, border, f, dm);
        else if (perspective)
          warp_backward_kernel<C, I, true, false>
              <<<g.blocks, g.threads, 0, st>>>(grad, s, gs, first, count, p, border, f, dm);
        else if (dense)
          warp_backward_kernel<C, I, false, true>
              <<<g.blocks, g.threads, 0, st>>>(grad, s, gs, first, count, p, border, f, dm);
        else
          warp_backward_kernel<C, I, false, false>
              <<<g.blocks, g.threads, 0, st>>>(grad, s, gs, first, count, p, border, f, dm);
      });
    };
    if (interp == Interp::Nearest)
      launch(std::integral_constant<Interp, Interp::Nearest>{});
    else
      launch(std::integral_constant<Interp, Interp::Linear>{});
  });
  if (grad_inv) {
    ok(cudaMemcpyAsync(grad_inv, dm, dm_bytes, cudaMemcpyDeviceToHost, st));
    ok(cudaFreeAsync(dm, st));
    ok(cudaStreamSynchronize(st));
  }
}

}  // namespace fastaug::cuda
