// filter2d, the separable filter (sep_filter2d, gaussian_blur, box_blur, sobel) and median_blur on
// CUDA: one thread per output pixel. The float sums run in the CPU's order (each row's horizontal taps
// from 0, then the rows weighted from 0, then delta; no FMA) so that both backends give the same bits; the
// uint8 Gaussian's fixed-point sums are exact integers.
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

// Source value at (n, row ry, column x + j) with the border already applied to ry (-1: fill row).
template <class T>
__device__ __forceinline__ float tap(const ImageView& s, int64_t n, int64_t ry, int64_t x, Border border, int c,
                                     const Fill& fill) {
  const int64_t cx = ry < 0 ? -1 : detail::map_border(x, s.w, border);
  if (cx < 0) return fill.v[c];
  return static_cast<float>(static_cast<const T*>(s.data)[n * s.sn + ry * s.sh + cx * s.sw + c * s.sc]);
}

// kernels: kx (kw) then ky (kh) per sample, packed in the arguments
template <class T, class U, int C>
__global__ void sep_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, Params<float> k, int kw,
                           int kh, Border border, Fill fill, float delta) {
  FASTAUG_GRID_LOOP(i, count * dst.h * dst.w) {
    const int64_t x = i % dst.w, y = (i / dst.w) % dst.h, s = i / (dst.w * dst.h), n = first + s;
    const float* kx = &k.v[s * (kw + kh)];
    const float* ky = kx + kw;
    const int ax = kw / 2, ay = kh / 2;
    U* out = pixel_ptr<U>(dst, n, y, x);
    for (int c = 0; c < C; ++c) {
      float acc = 0.f;
      for (int r = 0; r < kh; ++r) {
        const int64_t ry = detail::map_border(y + r - ay, src.h, border);
        float row = 0.f;
        for (int j = 0; j < kw; ++j) row += kx[j] * tap<T>(src, n, ry, x + j - ax, border, c, fill);
        acc += ky[r] * row;
      }
      acc += delta;
      out[c * dst.sc] = detail::saturate_cast<U>(acc);
    }
  }
}

// kernels: kx (kw) then ky (kh) per sample in 8 fraction bits; border constant reads 0 as OpenCV does
template <int C>
__global__ void gaussian_q8_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, Params<uint16_t> k,
                                   int kw, int kh, Border border) {
  FASTAUG_GRID_LOOP(i, count * dst.h * dst.w) {
    const int64_t x = i % dst.w, y = (i / dst.w) % dst.h, s = i / (dst.w * dst.h), n = first + s;
    const uint16_t* kx = &k.v[s * (kw + kh)];
    const uint16_t* ky = kx + kw;
    const int ax = kw / 2, ay = kh / 2;
    uint8_t* out = pixel_ptr<uint8_t>(dst, n, y, x);
    for (int c = 0; c < C; ++c) {
      uint32_t acc = 0;
      for (int r = 0; r < kh; ++r) {
        const int64_t ry = detail::map_border(y + r - ay, src.h, border);
        if (ry < 0) continue;
        uint32_t row = 0;
        for (int j = 0; j < kw; ++j) {
          const int64_t cx = detail::map_border(x + j - ax, src.w, border);
          if (cx >= 0) row += uint32_t{kx[j]} * pixel_ptr<const uint8_t>(src, n, ry, cx)[c * src.sc];
        }
        acc += ky[r] * row;
      }
      out[c * dst.sc] = detail::round_q16(acc);
    }
  }
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
  std::vector<float> packed(static_cast<size_t>(src.n) * (kw + kh));  // kx then ky of each sample
  for (int64_t n = 0; n < src.n; ++n) {
    std::copy(kx + n * kw, kx + (n + 1) * kw, &packed[n * (kw + kh)]);
    std::copy(ky + n * kh, ky + (n + 1) * kh, &packed[n * (kw + kh) + kw]);
  }
  const Fill f{{fill[0], fill[1], fill[2], fill[3]}};
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    using T = decltype(t);
    detail::dispatch_channels(src.c, [&](auto ch) {
      constexpr int C = decltype(ch)::value;
      for_chunks(packed.data(), src.n, kw + kh, op, "filter kernels", [&](int64_t first, int64_t count,
                                                                          const Params<float>& p) {
        const unsigned blocks = blocks_for(count * dst.h * dst.w);
        if (dst.dtype == DType::Float32)
          sep_kernel<T, float, C><<<blocks, kThreads, 0, stream_of(stream)>>>(src, dst, first, count, p, kw, kh,
                                                                               border, f, delta);
        else
          sep_kernel<T, uint8_t, C><<<blocks, kThreads, 0, stream_of(stream)>>>(src, dst, first, count, p, kw, kh,
                                                                                 border, f, delta);
      });
    });
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
  std::vector<uint16_t> packed(static_cast<size_t>(src.n) * (kw + kh));  // kx then ky of each sample
  for (int64_t n = 0; n < src.n; ++n) {
    std::copy(kx + n * kw, kx + (n + 1) * kw, &packed[n * (kw + kh)]);
    std::copy(ky + n * kh, ky + (n + 1) * kh, &packed[n * (kw + kh) + kw]);
  }
  detail::dispatch_channels(src.c, [&](auto ch) {
    for_chunks(packed.data(), src.n, kw + kh, "gaussian_blur", "filter kernels", [&](int64_t first, int64_t count,
                                                                                     const Params<uint16_t>& p) {
      gaussian_q8_kernel<decltype(ch)::value><<<blocks_for(count * dst.h * dst.w), kThreads, 0, stream_of(stream)>>>(
          src, dst, first, count, p, kw, kh, border);
    });
  });
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
