// equalize, to_gray, threshold, invert and normalize on CUDA, with the per-pixel maths of
// intensity_pixel.hpp (shared with the CPU loops).
#include "../common/dispatch.hpp"
#include "../ops/backend.hpp"
#include "../ops/intensity_pixel.hpp"
#include "launch.cuh"

namespace fastaug::cuda {
namespace {

using namespace cuda_detail;

struct Coeffs {
  float a[4], b[4];
};

// One block per image: the C histograms in shared memory (atomics), the LUTs from equalize_lut, then
// the LUTs applied. Integer maths throughout: the same bits as the CPU and OpenCV.
template <int C>
__global__ void equalize_kernel(ImageView src, ImageView dst) {
  __shared__ int32_t hist[C][256];
  __shared__ uint8_t lut[C][256];
  const int64_t n = blockIdx.x;
  for (int i = threadIdx.x; i < C * 256; i += blockDim.x) hist[i / 256][i % 256] = 0;
  __syncthreads();
  const int64_t pixels = src.h * src.w;
  for (int64_t i = threadIdx.x; i < pixels; i += blockDim.x) {
    const uint8_t* p = pixel_ptr<const uint8_t>(src, n, i / src.w, i % src.w);
    for (int c = 0; c < C; ++c) atomicAdd(&hist[c][p[c * src.sc]], 1);
  }
  __syncthreads();
  if (threadIdx.x < C) detail::equalize_lut(hist[threadIdx.x], static_cast<int32_t>(pixels), lut[threadIdx.x]);
  __syncthreads();
  for (int64_t i = threadIdx.x; i < pixels; i += blockDim.x) {
    const int64_t y = i / src.w, x = i % src.w;
    const uint8_t* p = pixel_ptr<const uint8_t>(src, n, y, x);
    uint8_t* out = pixel_ptr<uint8_t>(dst, n, y, x);
    for (int c = 0; c < C; ++c) out[c * dst.sc] = lut[c][p[c * src.sc]];
  }
}

template <class T, int C>
__global__ void gray_kernel(ImageView src, ImageView dst) {
  FASTAUG_GRID_LOOP(i, dst.n * dst.h * dst.w) {
    const int64_t x = i % dst.w, y = (i / dst.w) % dst.h, n = i / (dst.w * dst.h);
    const T* p = pixel_ptr<const T>(src, n, y, x);
    if constexpr (C == 1)
      *pixel_ptr<T>(dst, n, y, x) = p[0];
    else
      *pixel_ptr<T>(dst, n, y, x) = detail::gray_pixel(p[0], p[src.sc], p[2 * src.sc]);
  }
}

// thresholds then maxvals of a chunk of samples in the arguments
template <class T>
__global__ void threshold_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, Params<float> p,
                                 ThresholdMode mode) {
  FASTAUG_GRID_LOOP(i, count * dst.h * dst.w * dst.c) {
    const int64_t c = i % dst.c, x = (i / dst.c) % dst.w, y = (i / (dst.c * dst.w)) % dst.h;
    const int64_t k = i / (dst.c * dst.w * dst.h), n = first + k;
    const T v = pixel_ptr<const T>(src, n, y, x)[c * src.sc];
    pixel_ptr<T>(dst, n, y, x)[c * dst.sc] =
        detail::threshold_pixel<T>(v, p.v[2 * k], static_cast<T>(p.v[2 * k + 1]), mode);
  }
}

template <class T>
__global__ void invert_kernel(ImageView src, ImageView dst) {
  FASTAUG_GRID_LOOP(i, dst.n * dst.h * dst.w * dst.c) {
    const int64_t c = i % dst.c, x = (i / dst.c) % dst.w, y = (i / (dst.c * dst.w)) % dst.h;
    const int64_t n = i / (dst.c * dst.w * dst.h);
    pixel_ptr<T>(dst, n, y, x)[c * dst.sc] = detail::invert_pixel(pixel_ptr<const T>(src, n, y, x)[c * src.sc]);
  }
}

template <class T>
__global__ void normalize_kernel(ImageView src, ImageView dst, Coeffs k) {
  FASTAUG_GRID_LOOP(i, dst.n * dst.h * dst.w * dst.c) {
    const int64_t c = i % dst.c, x = (i / dst.c) % dst.w, y = (i / (dst.c * dst.w)) % dst.h;
    const int64_t n = i / (dst.c * dst.w * dst.h);
    const float v = static_cast<float>(pixel_ptr<const T>(src, n, y, x)[c * src.sc]);
    pixel_ptr<float>(dst, n, y, x)[c * dst.sc] = detail::normalize_pixel(v, k.a[c], k.b[c]);
  }
}

}  // namespace

void equalize(const ImageView& src, const ImageView& dst, Stream stream) {
  DeviceScope scope(src, "equalize");
  detail::dispatch_channels(src.c, [&](auto ch) {
    for (int64_t first = 0; first < src.n; first += 65535) {  // gridDim.y/z-free: one block per image
      const int64_t count = std::min<int64_t>(65535, src.n - first);
      ImageView s = src, d = dst;
      s.data = static_cast<uint8_t*>(src.data) + first * src.sn;
      d.data = static_cast<uint8_t*>(dst.data) + first * dst.sn;
      equalize_kernel<decltype(ch)::value><<<static_cast<unsigned>(count), 1024, 0, stream_of(stream)>>>(s, d);
      check_launch("equalize");
    }
  });
}

void to_gray(const ImageView& src, const ImageView& dst, Stream stream) {
  DeviceScope scope(src, "to_gray");
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    detail::dispatch_channels(src.c, [&](auto ch) {
      gray_kernel<decltype(t), decltype(ch)::value>
          <<<blocks_for(dst.n * dst.h * dst.w), kThreads, 0, stream_of(stream)>>>(src, dst);
      check_launch("to_gray");
    });
  });
}

void threshold(const ImageView& src, const ImageView& dst, const float* thresh, const float* maxval,
               ThresholdMode mode, Stream stream) {
  DeviceScope scope(src, "threshold");
  std::vector<float> packed(static_cast<size_t>(src.n) * 2);
  for (int64_t n = 0; n < src.n; ++n) packed[2 * n] = thresh[n], packed[2 * n + 1] = maxval[n];
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    for_chunks(packed.data(), src.n, 2, "threshold", "thresholds", [&](int64_t first, int64_t count,
                                                                       const Params<float>& p) {
      threshold_kernel<decltype(t)><<<blocks_for(count * dst.h * dst.w * dst.c), kThreads, 0, stream_of(stream)>>>(
          src, dst, first, count, p, mode);
    });
  });
}

void invert(const ImageView& src, const ImageView& dst, Stream stream) {
  DeviceScope scope(src, "invert");
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    invert_kernel<decltype(t)><<<blocks_for(dst.numel()), kThreads, 0, stream_of(stream)>>>(src, dst);
    check_launch("invert");
  });
}

void normalize(const ImageView& src, const ImageView& dst, const float a[4], const float b[4], Stream stream) {
  DeviceScope scope(src, "normalize");
  Coeffs k{};
  for (int c = 0; c < 4; ++c) k.a[c] = a[c], k.b[c] = b[c];
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    normalize_kernel<decltype(t)><<<blocks_for(dst.numel()), kThreads, 0, stream_of(stream)>>>(src, dst, k);
    check_launch("normalize");
  });
}

}  // namespace fastaug::cuda
