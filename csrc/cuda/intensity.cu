// equalize, to_gray, threshold, invert, normalize, lut, color_transform, channel_mean and hue_shift on CUDA,
// with the per-pixel maths of intensity_pixel.hpp (shared with the CPU loops).
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

// equalize in two passes over bands of rows, so that a batch of few large images still fills the GPU.
// Pass 1: each block histograms one band of one image in shared memory, then adds its bins to the image's
// histograms in global memory.
template <int C>
__global__ void equalize_hist_kernel(ImageView src, int64_t first, int64_t band_rows, int32_t* hist) {
  __shared__ int32_t local[C * 256];
  const int t = threadIdx.y * blockDim.x + threadIdx.x, threads = blockDim.x * blockDim.y;
  const int64_t n = first + blockIdx.y, y0 = blockIdx.x * band_rows;
  const int64_t y1 = y0 + band_rows < src.h ? y0 + band_rows : src.h;
  for (int i = t; i < C * 256; i += threads) local[i] = 0;
  __syncthreads();
  for (int64_t y = y0 + threadIdx.y; y < y1; y += blockDim.y)
    for (int64_t x = threadIdx.x; x < src.w; x += blockDim.x) {
      const uint8_t* p = pixel_ptr<const uint8_t>(src, n, y, x);
      for (int c = 0; c < C; ++c) atomicAdd(&local[c * 256 + p[c * src.sc]], 1);
    }
  __syncthreads();
  for (int i = t; i < C * 256; i += threads)
    if (local[i]) atomicAdd(&hist[n * C * 256 + i], local[i]);
}

// Pass 2: each block builds the image's LUTs (equalize_lut: integer maths, the same bits as the CPU and
// OpenCV) from its histograms, then maps its band.
template <int C>
__global__ void equalize_apply_kernel(ImageView src, ImageView dst, int64_t first, int64_t band_rows,
                                      const int32_t* hist) {
  __shared__ int32_t bins[C * 256];
  __shared__ uint8_t lut[C][256];
  const int t = threadIdx.y * blockDim.x + threadIdx.x, threads = blockDim.x * blockDim.y;
  const int64_t n = first + blockIdx.y, y0 = blockIdx.x * band_rows;
  const int64_t y1 = y0 + band_rows < src.h ? y0 + band_rows : src.h;
  for (int i = t; i < C * 256; i += threads) bins[i] = hist[n * C * 256 + i];
  __syncthreads();
  if (t < C) detail::equalize_lut(&bins[t * 256], static_cast<int32_t>(src.h * src.w), lut[t]);
  __syncthreads();
  for (int64_t y = y0 + threadIdx.y; y < y1; y += blockDim.y)
    for (int64_t x = threadIdx.x; x < src.w; x += blockDim.x) {
      const uint8_t* p = pixel_ptr<const uint8_t>(src, n, y, x);
      uint8_t* out = pixel_ptr<uint8_t>(dst, n, y, x);
      for (int c = 0; c < C; ++c) out[c * dst.sc] = lut[c][p[c * src.sc]];
    }
}

template <class T, int C>
__global__ void gray_kernel(ImageView src, ImageView dst) {
  FASTAUG_PIXEL_LOOP(n, y, x, dst.n, dst.h, dst.w) {
    const T* p = pixel_ptr<const T>(src, n, y, x);
    if constexpr (C == 1)
      *pixel_ptr<T>(dst, n, y, x) = p[0];
    else
      *pixel_ptr<T>(dst, n, y, x) = detail::gray_pixel(p[0], p[src.sc], p[2 * src.sc]);
  }
}

// The per-value maths of threshold and invert, for the strided and the vectorised kernels below.
// Threshold's parameters: thresholds then maxvals of a chunk of samples, interleaved.
struct ThresholdOp {
  Params<float> p;
  ThresholdMode mode;
  template <class T>
  __device__ __forceinline__ T operator()(T v, int64_t k) const {
    return detail::threshold_pixel<T>(v, p.v[2 * k], static_cast<T>(p.v[2 * k + 1]), mode);
  }
};
struct InvertOp {
  template <class T>
  __device__ __forceinline__ T operator()(T v, int64_t) const {
    return detail::invert_pixel(v);
  }
};

template <class T, int C, class Op>
__global__ void elementwise_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, Op op) {
  FASTAUG_PIXEL_LOOP(k, y, x, count, dst.h, dst.w) {
    const T* p = pixel_ptr<const T>(src, first + k, y, x);
    T* out = pixel_ptr<T>(dst, first + k, y, x);
    for (int c = 0; c < C; ++c) out[c * dst.sc] = op(p[c * src.sc], k);
  }
}

// The same over samples whose H*W*C values are contiguous and 16-byte aligned (vectorisable()): each
// thread moves 16 bytes with one load and one store, the width at which a GPU reaches its bandwidth.
constexpr int kVecBytes = 16;

template <class T, class Op>
__global__ void elementwise_vec_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, int64_t vectors,
                                       Op op) {
  constexpr int L = kVecBytes / sizeof(T);
  for (int64_t k = blockIdx.y; k < count; k += gridDim.y) {
    const uint4* s = reinterpret_cast<const uint4*>(static_cast<const T*>(src.data) + (first + k) * src.sn);
    uint4* d = reinterpret_cast<uint4*>(static_cast<T*>(dst.data) + (first + k) * dst.sn);
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < vectors;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
      union {
        uint4 v;
        T e[L];
      } u;
      u.v = s[i];
#pragma unroll
      for (int j = 0; j < L; ++j) u.e[j] = op(u.e[j], k);
      d[i] = u.v;
    }
  }
}

bool vectorisable(const ImageView& v, int64_t elem_bytes) {
  const int64_t sample_bytes = v.h * v.w * v.c * elem_bytes;
  return v.sc == 1 && v.sw == v.c && v.sh == v.w * v.c && sample_bytes % kVecBytes == 0 &&
         (v.sn * elem_bytes) % kVecBytes == 0 && reinterpret_cast<uintptr_t>(v.data) % kVecBytes == 0;
}

// Launches op over [first, first + count) samples: vectorised when both views allow it, else per pixel.
template <class T, class Op>
void launch_elementwise(const ImageView& src, const ImageView& dst, int64_t first, int64_t count, const Op& op,
                        cudaStream_t stream) {
  if (vectorisable(src, sizeof(T)) && vectorisable(dst, sizeof(T))) {
    const int64_t vectors = src.h * src.w * src.c * static_cast<int64_t>(sizeof(T)) / kVecBytes;
    const dim3 blocks(static_cast<unsigned>(std::min<int64_t>((vectors + kThreads - 1) / kThreads, 1 << 20)),
                      static_cast<unsigned>(std::min<int64_t>(count, 65535)));
    elementwise_vec_kernel<T><<<blocks, kThreads, 0, stream>>>(src, dst, first, count, vectors, op);
    return;
  }
  detail::dispatch_channels(src.c, [&](auto ch) {
    const Grid g = pixel_grid(dst.w, dst.h, count);
    elementwise_kernel<T, decltype(ch)::value><<<g.blocks, g.threads, 0, stream>>>(src, dst, first, count, op);
  });
}

// normalize into U: float, or the bits of Half / BFloat16 (rounded to nearest even by the CUDA intrinsics).
template <class T, class U, int C>
__global__ void normalize_kernel(ImageView src, ImageView dst, Coeffs k) {
  FASTAUG_PIXEL_LOOP(n, y, x, dst.n, dst.h, dst.w) {
    const T* p = pixel_ptr<const T>(src, n, y, x);
    U* out = pixel_ptr<U>(dst, n, y, x);
    for (int c = 0; c < C; ++c)
      out[c * dst.sc] =
          detail::saturate_cast<U>(detail::normalize_pixel(static_cast<float>(p[c * src.sc]), k.a[c], k.b[c]));
  }
}

// lut: one launch for the batch; each block copies its sample's tables (a device copy of the batch's, N * C *
// 256 bytes) into shared memory, then maps its pixels.
template <int C>
__global__ void lut_kernel(ImageView src, ImageView dst, const uint8_t* tables) {
  __shared__ uint8_t table[C * 256];
  const int t = threadIdx.y * blockDim.x + threadIdx.x, threads = blockDim.x * blockDim.y;
  for (int64_t k = blockIdx.z; k < dst.n; k += gridDim.z) {
    __syncthreads();  // every thread is done with the previous sample's tables
    for (int i = t; i < C * 256; i += threads) table[i] = tables[k * C * 256 + i];
    __syncthreads();
    for (int64_t y = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; y < dst.h;
         y += static_cast<int64_t>(gridDim.y) * blockDim.y)
      for (int64_t x = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; x < dst.w;
           x += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const uint8_t* p = pixel_ptr<const uint8_t>(src, k, y, x);
        uint8_t* out = pixel_ptr<uint8_t>(dst, k, y, x);
        for (int c = 0; c < C; ++c) out[c * dst.sc] = detail::lut_pixel(table, c, p[c * src.sc]);
      }
  }
}

// store(c, value) for each of color_transform's C output values (as T) of the pixel at p under matrix m.
template <class T, int C, class Store>
__device__ __forceinline__ void color_pixel(const detail::ColorMatrix& m, const T* p, int64_t sc, Store&& store) {
  using detail::ColorKind;
  T v[C];
  for (int c = 0; c < C; ++c) v[c] = p[c * sc];
  if (m.kind == static_cast<int32_t>(ColorKind::Fixed))
    for (int c = 0; c < C; ++c) store(c, detail::color_channel<ColorKind::Fixed, C>(m, v, c));
  else if (m.kind == static_cast<int32_t>(ColorKind::Diag))
    for (int c = 0; c < C; ++c) store(c, detail::color_channel<ColorKind::Diag, C>(m, v, c));
  else
    for (int c = 0; c < C; ++c) store(c, detail::color_channel<ColorKind::Full, C>(m, v, c));
}

template <class T, int C>
__global__ void color_kernel(ImageView src, ImageView dst, int64_t first, int64_t count,
                             Params<detail::ColorMatrix> matrices) {
  FASTAUG_PIXEL_LOOP(k, y, x, count, dst.h, dst.w) {
    T* out = pixel_ptr<T>(dst, first + k, y, x);
    color_pixel<T, C>(matrices.v[k], pixel_ptr<const T>(src, first + k, y, x), src.sc,
                      [&](int c, T v) { out[c * dst.sc] = v; });
  }
}

// normalize with color_transform in front: color_pixel's values, as T, through normalize_pixel into U.
template <class T, class U, int C>
__global__ void color_normalize_kernel(ImageView src, ImageView dst, int64_t first, int64_t count,
                                       Params<detail::ColorMatrix> matrices, Coeffs k) {
  FASTAUG_PIXEL_LOOP(i, y, x, count, dst.h, dst.w) {
    U* out = pixel_ptr<U>(dst, first + i, y, x);
    color_pixel<T, C>(matrices.v[i], pixel_ptr<const T>(src, first + i, y, x), src.sc, [&](int c, T v) {
      out[c * dst.sc] = detail::saturate_cast<U>(detail::normalize_pixel(static_cast<float>(v), k.a[c], k.b[c]));
    });
  }
}

// channel_mean in channel_mean_cpu's order: one thread per row (mean_row), then one per (image, channel) adding
// the row sums in row order.
template <class T, int C, int L, class Acc, class Sum>
__global__ void mean_rows_kernel(ImageView src, Sum* rows) {
  FASTAUG_GRID_LOOP(i, src.n * src.h) {
    const int64_t n = i / src.h, y = i % src.h;
    detail::mean_row<T, C, L, Acc, Sum>(static_cast<const T*>(src.data) + n * src.sn + y * src.sh, src.w, src.sw,
                                        src.sc, rows + i * C);
  }
}

template <class Sum>
__global__ void mean_fold_kernel(const Sum* rows, int64_t n, int64_t h, int C, double scale, double* means) {
  FASTAUG_GRID_LOOP(i, n * C) {
    const int64_t img = i / C, c = i % C;
    Sum s = 0;
    for (int64_t y = 0; y < h; ++y) s += rows[(img * h + y) * C + c];
    means[i] = static_cast<double>(s) * scale;
  }
}

template <class T, int C, int L, class Acc, class Sum>
void channel_mean_cuda(const ImageView& src, double* out, cudaStream_t s) {
  void* rows = nullptr;
  void* means = nullptr;  // stream-ordered scratch, as equalize's
  const size_t row_bytes = static_cast<size_t>(std::max<int64_t>(1, src.n * src.h * C)) * sizeof(Sum);
  const size_t mean_bytes = static_cast<size_t>(src.n * C) * sizeof(double);
  if (cudaMallocAsync(&rows, row_bytes, s) != cudaSuccess) check_launch("channel_mean");
  if (cudaMallocAsync(&means, mean_bytes, s) != cudaSuccess) check_launch("channel_mean");
  mean_rows_kernel<T, C, L, Acc, Sum><<<blocks_for(src.n * src.h), kThreads, 0, s>>>(src, static_cast<Sum*>(rows));
  check_launch("channel_mean");
  const double scale = src.h * src.w > 0 ? 1.0 / static_cast<double>(src.h * src.w) : 0.0;
  mean_fold_kernel<Sum><<<blocks_for(src.n * C), kThreads, 0, s>>>(static_cast<const Sum*>(rows), src.n, src.h, C,
                                                                   scale, static_cast<double*>(means));
  check_launch("channel_mean");
  if (cudaMemcpyAsync(out, means, mean_bytes, cudaMemcpyDeviceToHost, s) != cudaSuccess) check_launch("channel_mean");
  if (cudaFreeAsync(rows, s) != cudaSuccess) check_launch("channel_mean");
  if (cudaFreeAsync(means, s) != cudaSuccess) check_launch("channel_mean");
  if (cudaStreamSynchronize(s) != cudaSuccess) check_launch("channel_mean");
}

template <class T, int C>
__global__ void hue_kernel(ImageView src, ImageView dst, int64_t first, int64_t count, Params<float> hue) {
  FASTAUG_PIXEL_LOOP(k, y, x, count, dst.h, dst.w) {
    detail::hue_pixel<T, C>(pixel_ptr<const T>(src, first + k, y, x), src.sc, pixel_ptr<T>(dst, first + k, y, x),
                            dst.sc, hue.v[k]);
  }
}

}  // namespace

void equalize(const ImageView& src, const ImageView& dst, Stream stream) {
  DeviceScope scope(src, "equalize");
  if (src.empty()) return;
  const cudaStream_t s = stream_of(stream);
  int device = 0, sms = 1;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  // bands per image: about four blocks per multiprocessor over the whole batch, at least 8 rows a band
  const int64_t bands = std::max<int64_t>(1, std::min<int64_t>((4 * sms + src.n - 1) / src.n, (src.h + 7) / 8));
  const int64_t band_rows = (src.h + bands - 1) / bands;
  const size_t bytes = static_cast<size_t>(src.n) * src.c * 256 * sizeof(int32_t);
  void* hist = nullptr;  // stream-ordered scratch: allocated, zeroed and freed on the stream, no synchronisation
  if (cudaMallocAsync(&hist, bytes, s) != cudaSuccess) check_launch("equalize");
  if (cudaMemsetAsync(hist, 0, bytes, s) != cudaSuccess) check_launch("equalize");
  detail::dispatch_channels(src.c, [&](auto ch) {
    constexpr int C = decltype(ch)::value;
    for (int64_t first = 0; first < src.n; first += 65535) {
      const dim3 blocks(static_cast<unsigned>((src.h + band_rows - 1) / band_rows),
                        static_cast<unsigned>(std::min<int64_t>(65535, src.n - first)));
      const dim3 threads(kBlockX, kBlockY);
      equalize_hist_kernel<C><<<blocks, threads, 0, s>>>(src, first, band_rows, static_cast<int32_t*>(hist));
      check_launch("equalize");
      equalize_apply_kernel<C><<<blocks, threads, 0, s>>>(src, dst, first, band_rows, static_cast<int32_t*>(hist));
      check_launch("equalize");
    }
  });
  if (cudaFreeAsync(hist, s) != cudaSuccess) check_launch("equalize");
}

void to_gray(const ImageView& src, const ImageView& dst, Stream stream) {
  DeviceScope scope(src, "to_gray");
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    detail::dispatch_channels(src.c, [&](auto ch) {
      const Grid g = pixel_grid(dst.w, dst.h, dst.n);
      gray_kernel<decltype(t), decltype(ch)::value><<<g.blocks, g.threads, 0, stream_of(stream)>>>(src, dst);
      check_launch("to_gray");
    });
  });
}

void threshold(const ImageView& src, const ImageView& dst, const float* thresh, const float* maxval, ThresholdMode mode,
               Stream stream) {
  DeviceScope scope(src, "threshold");
  std::vector<float> packed(static_cast<size_t>(src.n) * 2);
  for (int64_t n = 0; n < src.n; ++n) packed[2 * n] = thresh[n], packed[2 * n + 1] = maxval[n];
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    for_chunks(packed.data(), src.n, 2, "threshold", "thresholds",
               [&](int64_t first, int64_t count, const Params<float>& p) {
                 launch_elementwise<decltype(t)>(src, dst, first, count, ThresholdOp{p, mode}, stream_of(stream));
               });
  });
}

void invert(const ImageView& src, const ImageView& dst, Stream stream) {
  DeviceScope scope(src, "invert");
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    for (int64_t first = 0; first < src.n; first += 65535) {
      launch_elementwise<decltype(t)>(src, dst, first, std::min<int64_t>(65535, src.n - first), InvertOp{},
                                      stream_of(stream));
      check_launch("invert");
    }
  });
}

void normalize(const ImageView& src, const ImageView& dst, const float a[4], const float b[4],
               const detail::ColorMatrix* matrices, Stream stream) {
  DeviceScope scope(src, "normalize");
  Coeffs k{};
  for (int c = 0; c < 4; ++c) k.a[c] = a[c], k.b[c] = b[c];
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    detail::dispatch_float_out(dst.dtype, [&](auto u) {
      detail::dispatch_channels(src.c, [&](auto ch) {
        if (matrices != nullptr) {
          for_chunks(matrices, src.n, 1, "normalize", "matrices",
                     [&](int64_t first, int64_t count, const Params<detail::ColorMatrix>& p) {
                       const Grid g = pixel_grid(dst.w, dst.h, count);
                       color_normalize_kernel<decltype(t), decltype(u), decltype(ch)::value>
                           <<<g.blocks, g.threads, 0, stream_of(stream)>>>(src, dst, first, count, p, k);
                     });
          return;
        }
        const Grid g = pixel_grid(dst.w, dst.h, dst.n);
        normalize_kernel<decltype(t), decltype(u), decltype(ch)::value>
            <<<g.blocks, g.threads, 0, stream_of(stream)>>>(src, dst, k);
        check_launch("normalize");
      });
    });
  });
}

void lut(const ImageView& src, const ImageView& dst, const uint8_t* table, Stream stream) {
  DeviceScope scope(src, "lut");
  const cudaStream_t s = stream_of(stream);
  detail::dispatch_channels(src.c, [&](auto ch) {
    constexpr int C = decltype(ch)::value;
    const DeviceCopy tables(table, static_cast<size_t>(src.n) * C * 256, s, "lut");
    const Grid g = pixel_grid(dst.w, dst.h, dst.n);
    lut_kernel<C><<<g.blocks, g.threads, 0, s>>>(src, dst, tables.data<uint8_t>());
    check_launch("lut");
  });
}

void color_transform(const ImageView& src, const ImageView& dst, const detail::ColorMatrix* matrices, Stream stream) {
  DeviceScope scope(src, "color_transform");
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    detail::dispatch_channels(src.c, [&](auto ch) {
      for_chunks(matrices, src.n, 1, "color_transform", "matrices",
                 [&](int64_t first, int64_t count, const Params<detail::ColorMatrix>& p) {
                   const Grid g = pixel_grid(dst.w, dst.h, count);
                   color_kernel<decltype(t), decltype(ch)::value>
                       <<<g.blocks, g.threads, 0, stream_of(stream)>>>(src, dst, first, count, p);
                 });
    });
  });
}

void channel_mean(const ImageView& src, double* out, Stream stream) {
  DeviceScope scope(src, "channel_mean");
  detail::dispatch_channels(src.c, [&](auto ch) {
    constexpr int C = decltype(ch)::value;
    if (src.dtype == DType::UInt8)
      channel_mean_cuda<uint8_t, C, detail::kMeanLanesU8, uint32_t, uint64_t>(src, out, stream_of(stream));
    else
      channel_mean_cuda<float, C, detail::kMeanLanesF32, double, double>(src, out, stream_of(stream));
  });
}

void hue_shift(const ImageView& src, const ImageView& dst, const float* hue, Stream stream) {
  DeviceScope scope(src, "hue_shift");
  detail::dispatch_dtype(src.dtype, [&](auto t) {
    detail::dispatch_channels(src.c, [&](auto ch) {
      for_chunks(hue, src.n, 1, "hue_shift", "hues", [&](int64_t first, int64_t count, const Params<float>& p) {
        const Grid g = pixel_grid(dst.w, dst.h, count);
        hue_kernel<decltype(t), decltype(ch)::value>
            <<<g.blocks, g.threads, 0, stream_of(stream)>>>(src, dst, first, count, p);
      });
    });
  });
}

}  // namespace fastaug::cuda
