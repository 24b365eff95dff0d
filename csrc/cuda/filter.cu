// filter2d, the separable filter (sep_filter2d, gaussian_blur, box_blur, sobel) and median_blur on
// CUDA: one thread per output pixel. The float sums run in the CPU's order (each row's horizontal taps
// from 0, then the rows weighted from 0, then delta; no FMA) so that both backends give the same bits; the
// uint8 Gaussian's fixed-point sums are exact integers.
#include <type_traits>

#include "../common/border.hpp"
#include "../common/dispatch.hpp"
#include "../common/saturate.hpp"
#include "../ops/backend.hpp"
#include "../ops/filter_pixel.hpp"
#include "launch.cuh"

namespace fastaug::cuda {
namespace {

using namespace cuda_detail;

struct Fill {
  float v[4];
};

// Source value at (n, row ry, column x + j) as A, with the border already applied to ry (-1: fill row).
template <class T, class A = float>
__device__ __forceinline__ A tap(const ImageView& s, int64_t n, int64_t ry, int64_t x, Border border, int c,
                                 const Fill& fill) {
  const int64_t cx = ry < 0 ? -1 : detail::map_border(x, s.w, border);
  if (cx < 0) return static_cast<A>(fill.v[c]);
  return static_cast<A>(static_cast<const T*>(s.data)[n * s.sn + ry * s.sh + cx * s.sw + c * s.sc]);
}

// The separable sums run in float for float kernels, and in exact integers for the uint8 Gaussian's
// fixed-point kernels (uint16 taps with 8 fraction bits).
template <class K>
using SepSum = std::conditional_t<std::is_same_v<K, float>, float, uint32_t>;

// The end of a pixel's sum: float sums add delta and saturate, fixed-point sums round (round_q16).
template <class U>
__device__ __forceinline__ U finish_sum(float acc, float delta) {
  return detail::saturate_cast<U>(acc + delta);
}
template <class U>
__device__ __forceinline__ U finish_sum(uint32_t acc, float) {
  return detail::round_q16(acc);
}

// kernels: kx (kw) then ky (kh) per sample, packed in the arguments
template <class T, class U, int C, class K>
__global__ void sep_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, Params<K> k, int kw, int kh,
                           Border border, Fill fill, float delta) {
  using A = SepSum<K>;
  FASTAUG_GRID_LOOP(i, count * dst.h * dst.w) {
    const int64_t x = i % dst.w, y = (i / dst.w) % dst.h, s = i / (dst.w * dst.h), n = first + s;
    const K* kx = &k.v[s * (kw + kh)];
    const K* ky = kx + kw;
    const int ax = kw / 2, ay = kh / 2;
    U* out = pixel_ptr<U>(dst, n, y, x);
    for (int c = 0; c < C; ++c) {
      A acc = 0;
      for (int r = 0; r < kh; ++r) {
        const int64_t ry = detail::map_border(y + r - ay, src.h, border);
        A row = 0;
        for (int j = 0; j < kw; ++j) row += kx[j] * tap<T, A>(src, n, ry, x + j - ax, border, c, fill);
        acc += ky[r] * row;
      }
      out[c * dst.sc] = finish_sum<U>(acc, delta);
    }
  }
}

// Packs the per-sample kernels (kx then ky of each sample) and launches sep_kernel in chunks of samples.
template <class T, class U, class K>
void launch_sep(const ImageView& src, const ImageView& dst, const K* kx, int kw, const K* ky, int kh, Border border,
                const Fill& fill, float delta, const char* op, Stream stream) {
  std::vector<K> packed(static_cast<size_t>(src.n) * (kw + kh));
  for (int64_t n = 0; n < src.n; ++n) {
    std::copy(kx + n * kw, kx + (n + 1) * kw, &packed[n * (kw + kh)]);
    std::copy(ky + n * kh, ky + (n + 1) * kh, &packed[n * (kw + kh) + kw]);
  }
  detail::dispatch_channels(src.c, [&](auto ch) {
    for_chunks(packed.data(), src.n, kw + kh, op, "filter kernels", [&](int64_t first, int64_t count,
                                                                        const Params<K>& p) {
      sep_kernel<T, U, decltype(ch)::value, K><<<blocks_for(count * dst.h * dst.w), kThreads, 0, stream_of(stream)>>>(
          src, dst, first, count, p, kw, kh, border, fill, delta);
    });
  });
}

template <class T, int C>
__global__ void filter2d_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, Params<float> k, int kh,
                                int kw, Border border, Fill fill) {
  FASTAUG_GRID_LOOP(i, count * dst.h * dst.w) {
    const int64_t x = i % dst.w, y = (i / dst.w) % dst.h, s = i / (dst.w * dst.h), n = first + s;
    const float* kern = &k.v[s * kh * kw];
    T* out = pixel_ptr<T>(dst, n, y, x);
    for (int c = 0; c < C; ++c) {
      float acc = 0.f;
      for (int r = 0; r < kh; ++r) {
        const int64_t ry = detail::map_border(y + r - kh / 2, src.h, border);
        float part = 0.f;
        for (int j = 0; j < kw; ++j) part += kern[r * kw + j] * tap<T>(src, n, ry, x + j - kw / 2, border, c, fill);
        acc += part;
      }
      out[c * dst.sc] = detail::saturate_cast<T>(acc);
    }
  }
}

template <class T, int C>
__global__ void median_kernel(ImageView src, ImageView dst, int ksize) {
  FASTAUG_GRID_LOOP(i, dst.n * dst.h * dst.w) {
    const int64_t x = i % dst.w, y = (i / dst.w) % dst.h, n = i / (dst.w * dst.h);
    const int a = ksize / 2;
    T* out = pixel_ptr<T>(dst, n, y, x);
    T v[49];
    for (int c = 0; c < C; ++c) {
      int m = 0;
      for (int r = -a; r <= a; ++r) {
        const int64_t ry = detail::map_border(y + r, src.h, Border::Replicate);
        for (int j = -a; j <= a; ++j)
          v[m++] = pixel_ptr<const T>(src, n, ry, detail::map_border(x + j, src.w, Border::Replicate))[c * src.sc];
      }
      out[c * dst.sc] = detail::median_of(v, m);
    }
  }
}

}  // namespace

void sep_filter(const ImageView& src, const ImageView& dst, const float* kx, int kw, const float* ky, int kh,
                Border border, const float fill[4], float delta, const char* op, Stream stream) {
  DeviceScope scope(src, op);
  const Fill f{{fill[0], fill[1], fill[2], fill[3]}};
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    using T = decltype(t);
    if (dst.dtype == DType::Float32)
      launch_sep<T, float>(src, dst, kx, kw, ky, kh, border, f, delta, op, stream);
    else
      launch_sep<T, uint8_t>(src, dst, kx, kw, ky, kh, border, f, delta, op, stream);
  });
}

void filter2d(const ImageView& src, const ImageView& dst, const float* kernel, int kh, int kw, Border border,
              const float fill[4], Stream stream) {
  DeviceScope scope(src, "filter2d");
  const Fill f{{fill[0], fill[1], fill[2], fill[3]}};
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    detail::dispatch_channels(src.c, [&](auto ch) {
      for_chunks(kernel, src.n, int64_t(kh) * kw, "filter2d", "kernel", [&](int64_t first, int64_t count,
                                                                            const Params<float>& p) {
        filter2d_kernel<decltype(t), decltype(ch)::value>
            <<<blocks_for(count * dst.h * dst.w), kThreads, 0, stream_of(stream)>>>(src, dst, first, count, p, kh,
                                                                                    kw, border, f);
      });
    });
  });
}

void gaussian_q8(const ImageView& src, const ImageView& dst, const uint16_t* kx, int kw, const uint16_t* ky, int kh,
                 Border border, Stream stream) {
  DeviceScope scope(src, "gaussian_blur");
  const Fill zero{};  // cv::GaussianBlur's constant border reads 0
  launch_sep<uint8_t, uint8_t>(src, dst, kx, kw, ky, kh, border, zero, 0.f, "gaussian_blur", stream);
}

void median(const ImageView& src, const ImageView& dst, int ksize, Stream stream) {
  DeviceScope scope(src, "median_blur");
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    detail::dispatch_channels(src.c, [&](auto ch) {
      median_kernel<decltype(t), decltype(ch)::value>
          <<<blocks_for(dst.n * dst.h * dst.w), kThreads, 0, stream_of(stream)>>>(src, dst, ksize);
      check_launch("median_blur");
    });
  });
}

}  // namespace fastaug::cuda
