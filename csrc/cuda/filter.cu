// filter2d, the separable filter (sep_filter2d, gaussian_blur, box_blur, sobel) and median_blur on
// CUDA: one thread per output pixel (the separable filter from a shared-memory tile). The float sums run in the CPU's
// order (each row's horizontal taps from 0, then the rows weighted from 0, then delta; no FMA) so that both backends
// give the same bits; the uint8 Gaussian's fixed-point sums are exact integers.
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

// What the separable kernels sum and how each sum ends. WeightedSums: the per-sample kernels (kx then ky of
// each sample, packed in the kernel's arguments), finished by finish_sum. BoxSums: cv::blur's plain window
// sums (unit weights: `Unit * v` is v, so each sum is formed exactly as a plain running sum), finished by
// box_value: the same bits as the CPU's exact integer sums (uint8) and row-ordered double sums (float).
template <class K, class U>
struct WeightedSums {
  using Acc = SepSum<K>;
  Params<K> k;
  int kw, kh;
  float delta;
  __device__ const K* kx(int64_t s) const { return &k.v[s * (kw + kh)]; }
  __device__ const K* ky(int64_t s) const { return kx(s) + kw; }
  __device__ U finish(Acc acc) const { return finish_sum<U>(acc, delta); }
};

struct Unit {
  __device__ Unit operator[](int) const { return {}; }
};
template <class A>
__device__ __forceinline__ A operator*(Unit, A v) {
  return v;
}

template <class T>
struct BoxSums {
  using Acc = typename detail::BoxSum<T>::type;
  typename detail::BoxSum<T>::scale inv;
  __device__ Unit kx(int64_t) const { return {}; }
  __device__ Unit ky(int64_t) const { return {}; }
  __device__ T finish(Acc acc) const { return detail::box_value(acc, inv); }
};

// One thread per output pixel: each pixel's row sums (taps from j = 0), then the rows (from r = 0).
template <class T, class U, int C, class Sums>
__global__ void sep_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, int kw, int kh, Border border,
                           Fill fill, Sums sums) {
  using A = typename Sums::Acc;
  FASTAUG_PIXEL_LOOP(s, y, x, count, dst.h, dst.w) {
    const int64_t n = first + s;
    const auto kx = sums.kx(s);
    const auto ky = sums.ky(s);
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
      out[c * dst.sc] = sums.finish(acc);
    }
  }
}

// The same sums from shared memory, for a 32 x 32 tile of output pixels per block: the tile's source values
// (borders applied once per value) are loaded once, then every tile row's horizontal sums, then the
// vertical sums. Each sum is formed exactly as in sep_kernel (row sums from j = 0, then the rows from
// r = 0), so both give the same bits; the tiled kernel reads each source value once instead of kw * kh
// times. Layout [channel][row][column], so that neighbouring threads touch neighbouring words (no bank
// conflicts whatever C is).
constexpr int kTile = 32;

template <class A>
size_t sep_tile_bytes(int kw, int kh, int channels) {
  return sizeof(A) * channels * (kTile + kh - 1) * ((kTile + kw - 1) + kTile);
}

template <class T, class U, int C, class Sums>
__global__ void sep_tiled_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, int kw, int kh,
                                 Border border, Fill fill, Sums sums) {
  using A = typename Sums::Acc;
  extern __shared__ __align__(16) unsigned char tile_memory[];
  const int in_w = kTile + kw - 1, in_h = kTile + kh - 1;
  A* in = reinterpret_cast<A*>(tile_memory);  // [C][in_h][in_w]
  A* rows = in + C * in_h * in_w;             // [C][in_h][kTile]
  const int64_t x0 = static_cast<int64_t>(blockIdx.x) * kTile, y0 = static_cast<int64_t>(blockIdx.y) * kTile;
  const int ax = kw / 2, ay = kh / 2;
  for (int64_t s = blockIdx.z; s < count; s += gridDim.z) {
    const int64_t n = first + s;
    const auto kx = sums.kx(s);
    const auto ky = sums.ky(s);
    for (int ty = threadIdx.y; ty < in_h; ty += blockDim.y) {
      const int64_t ry = detail::map_border(y0 + ty - ay, src.h, border);
      for (int tx = threadIdx.x; tx < in_w; tx += blockDim.x) {
        const int64_t cx = ry < 0 ? -1 : detail::map_border(x0 + tx - ax, src.w, border);
        const T* p = cx < 0 ? nullptr : static_cast<const T*>(src.data) + n * src.sn + ry * src.sh + cx * src.sw;
        for (int c = 0; c < C; ++c)
          in[(c * in_h + ty) * in_w + tx] = p ? static_cast<A>(p[c * src.sc]) : static_cast<A>(fill.v[c]);
      }
    }
    __syncthreads();
    for (int ty = threadIdx.y; ty < in_h; ty += blockDim.y)
      for (int c = 0; c < C; ++c) {
        const A* r = in + (c * in_h + ty) * in_w + threadIdx.x;
        A acc = 0;
        for (int j = 0; j < kw; ++j) acc += kx[j] * r[j];
        rows[(c * in_h + ty) * kTile + threadIdx.x] = acc;
      }
    __syncthreads();
    const int64_t x = x0 + threadIdx.x;
    for (int oy = threadIdx.y; oy < kTile; oy += blockDim.y) {
      const int64_t y = y0 + oy;
      if (y >= dst.h || x >= dst.w) continue;
      U* out = pixel_ptr<U>(dst, n, y, x);
      for (int c = 0; c < C; ++c) {
        const A* col = rows + (c * in_h + oy) * kTile + threadIdx.x;
        A acc = 0;
        for (int r = 0; r < kh; ++r) acc += ky[r] * col[r * kTile];
        out[c * dst.sc] = sums.finish(acc);
      }
    }
    __syncthreads();  // the next sample overwrites the tile
  }
}

// Launches the tiled kernel over samples [first, first + count), or sep_kernel where the tile would not fit
// the default 48 KB of shared memory.
template <class T, class U, int C, class Sums>
void launch_sums(const ImageView& src, const ImageView& dst, int64_t first, int64_t count, int kw, int kh,
                 Border border, const Fill& fill, const Sums& sums, Stream stream) {
  const size_t tile_bytes = sep_tile_bytes<typename Sums::Acc>(kw, kh, C);
  if (tile_bytes <= 48 * 1024 && (dst.h + kTile - 1) / kTile <= 65535) {
    const Grid g = pixel_grid(dst.w, dst.h, count, kTile);
    sep_tiled_kernel<T, U, C, Sums>
        <<<g.blocks, g.threads, tile_bytes, stream_of(stream)>>>(src, dst, first, count, kw, kh, border, fill, sums);
  } else {
    const Grid g = pixel_grid(dst.w, dst.h, count);
    sep_kernel<T, U, C, Sums>
        <<<g.blocks, g.threads, 0, stream_of(stream)>>>(src, dst, first, count, kw, kh, border, fill, sums);
  }
}

// Packs the per-sample kernels (kx then ky of each sample) and launches in chunks of samples.
template <class T, class U, class K>
void launch_sep(const ImageView& src, const ImageView& dst, const K* kx, int kw, const K* ky, int kh, Border border,
                const Fill& fill, float delta, const char* op, Stream stream) {
  std::vector<K> packed(static_cast<size_t>(src.n) * (kw + kh));
  for (int64_t n = 0; n < src.n; ++n) {
    std::copy(kx + n * kw, kx + (n + 1) * kw, &packed[n * (kw + kh)]);
    std::copy(ky + n * kh, ky + (n + 1) * kh, &packed[n * (kw + kh) + kw]);
  }
  detail::dispatch_channels(src.c, [&](auto ch) {
    for_chunks(packed.data(), src.n, kw + kh, op, "filter kernels",
               [&](int64_t first, int64_t count, const Params<K>& p) {
                 launch_sums<T, U, decltype(ch)::value>(src, dst, first, count, kw, kh, border, fill,
                                                        WeightedSums<K, U>{p, kw, kh, delta}, stream);
               });
  });
}

// cv::filter2D's sum: the non-zero taps in row-major order into one accumulator (the CPU's order).
template <class T, int C>
__global__ void filter2d_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, Params<float> k, int kh,
                                int kw, Border border, Fill fill) {
  FASTAUG_PIXEL_LOOP(s, y, x, count, dst.h, dst.w) {
    const int64_t n = first + s;
    const float* kern = &k.v[s * kh * kw];
    T* out = pixel_ptr<T>(dst, n, y, x);
    for (int c = 0; c < C; ++c) {
      float acc = 0.f;
      for (int r = 0; r < kh; ++r) {
        const int64_t ry = detail::map_border(y + r - kh / 2, src.h, border);
        for (int j = 0; j < kw; ++j) {
          const float kv = kern[r * kw + j];
          if (kv != 0.f) acc += kv * tap<T>(src, n, ry, x + j - kw / 2, border, c, fill);
        }
      }
      out[c * dst.sc] = detail::saturate_cast<T>(acc);
    }
  }
}

// The median of M values by exchange selection: after step i, v[i] is the i-th smallest. Every index is a
// compile-time constant once the loops are unrolled, so the window stays in registers (median_of's
// data-dependent index would put it in local memory). The median is exact: the same value as every
// other backend's.
template <class T, int M>
__device__ __forceinline__ T median_in_registers(T (&v)[M]) {
#pragma unroll
  for (int i = 0; i <= M / 2; ++i)
#pragma unroll
    for (int j = i + 1; j < M; ++j) {
      const T a = v[i], b = v[j];
      const bool swap = b < a;
      v[i] = swap ? b : a;
      v[j] = swap ? a : b;
    }
  return v[M / 2];
}

template <class T, int C, int K>
__global__ void median_kernel(ImageView src, ImageView dst) {
  constexpr int a = K / 2;
  FASTAUG_PIXEL_LOOP(n, y, x, dst.n, dst.h, dst.w) {
    T* out = pixel_ptr<T>(dst, n, y, x);
#pragma unroll 1
    for (int c = 0; c < C; ++c) {
      T v[K * K];
#pragma unroll
      for (int r = 0; r < K; ++r) {
        const int64_t ry = detail::map_border(y + r - a, src.h, Border::Replicate);
#pragma unroll
        for (int j = 0; j < K; ++j)
          v[r * K + j] =
              pixel_ptr<const T>(src, n, ry, detail::map_border(x + j - a, src.w, Border::Replicate))[c * src.sc];
      }
      out[c * dst.sc] = median_in_registers(v);
    }
  }
}

}  // namespace

void box(const ImageView& src, const ImageView& dst, int kh, int kw, Border border, Stream stream) {
  DeviceScope scope(src, "box_blur");
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    using T = decltype(t);
    detail::dispatch_channels(src.c, [&](auto ch) {
      const Fill zero{};  // cv::blur's constant border reads 0
      launch_sums<T, T, decltype(ch)::value>(src, dst, 0, dst.n, kw, kh, border, zero,
                                             BoxSums<T>{detail::box_inv_area<T>(kh, kw)}, stream);
      check_launch("box_blur");
    });
  });
}

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
      for_chunks(kernel, src.n, int64_t(kh) * kw, "filter2d", "kernel",
                 [&](int64_t first, int64_t count, const Params<float>& p) {
                   const Grid g = pixel_grid(dst.w, dst.h, count);
                   filter2d_kernel<decltype(t), decltype(ch)::value>
                       <<<g.blocks, g.threads, 0, stream_of(stream)>>>(src, dst, first, count, p, kh, kw, border, f);
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
      using T = decltype(t);
      constexpr int C = decltype(ch)::value;
      const Grid g = pixel_grid(dst.w, dst.h, dst.n);
      const cudaStream_t s = stream_of(stream);
      if (ksize == 3)
        median_kernel<T, C, 3><<<g.blocks, g.threads, 0, s>>>(src, dst);
      else if (ksize == 5)
        median_kernel<T, C, 5><<<g.blocks, g.threads, 0, s>>>(src, dst);
      else
        median_kernel<T, C, 7><<<g.blocks, g.threads, 0, s>>>(src, dst);
      check_launch("median_blur");
    });
  });
}

}  // namespace fastaug::cuda
