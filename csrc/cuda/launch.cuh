// What every CUDA operator needs around its kernel: the caller's stream, the image's device made
// current, per-sample parameters passed by value in the kernel's arguments (no host-to-device copy, so
// nothing blocks) or, when a batch's do not fit there, copied to the device without blocking (DeviceCopy),
// grid sizing, and launch errors reported with the operator's name.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../common/check.hpp"
#include "fastaug/image_view.hpp"
#include "fastaug/types.hpp"

namespace fastaug::cuda_detail {

using detail::fail;
using detail::fail_device;

inline cudaStream_t stream_of(Stream s) { return static_cast<cudaStream_t>(s.handle); }

// Throws DeviceError("<op>: CUDA error: ...") when the last launch (or an earlier asynchronous error) failed.
inline void check_launch(const char* op) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) fail_device(op, ": CUDA error: ", cudaGetErrorName(e), ": ", cudaGetErrorString(e));
}

// Makes the image's device current for the operator (and restores the caller's on exit). Fails with the
// runtime's reason when no usable device is present: the process never crashes on a GPU-less machine.
class DeviceScope {
 public:
  DeviceScope(const ImageView& v, const char* op) {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      cudaGetLastError();  // clear the sticky-free error so that later calls start clean
      fail_device(op, ": got a CUDA image, but no CUDA device can be used: ", cudaGetErrorString(e));
    }
    FASTAUG_CHECK(v.device_id >= 0 && v.device_id < count, op, ": image is on CUDA device ", v.device_id, ", but ",
                  count, " device(s) are present");
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    if (previous_ != v.device_id && cudaSetDevice(v.device_id) != cudaSuccess) check_launch(op);
  }
  ~DeviceScope() {
    if (previous_ >= 0) cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = -1;
};

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over `count` items (capped: each thread then loops).
inline unsigned blocks_for(int64_t count) {
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>((count + kThreads - 1) / kThreads, 1 << 20)));
}

// Per-sample parameters travel inside the kernel's arguments (copied by the launch itself, so there is
// no cudaMemcpy and no synchronisation); a batch whose parameters do not fit is launched in chunks.
constexpr int kParamBytes = 4096;

template <class T>
struct Params {
  static constexpr int kCapacity = kParamBytes / sizeof(T);
  T v[kCapacity];
};

// Calls launch(first, count, params) for consecutive chunks of samples; `per_sample` values of T each,
// taken from host[first * per_sample ...].
template <class T, class F>
void for_chunks(const T* host, int64_t n, int64_t per_sample, const char* op, const char* what, F&& launch) {
  constexpr int64_t cap = Params<T>::kCapacity;
  FASTAUG_CHECK(per_sample <= cap, op, ": ", what, " of ", per_sample, " values per sample do not fit the CUDA ",
                "kernel's parameters (at most ", cap, ")");
  const int64_t chunk = per_sample > 0 ? cap / per_sample : n;
  for (int64_t first = 0; first < n; first += chunk) {
    const int64_t count = std::min(chunk, n - first);
    Params<T> p;
    if (per_sample > 0) std::memcpy(p.v, host + first * per_sample, sizeof(T) * count * per_sample);
    launch(first, count, p);
    check_launch(op);
  }
}

// Per-call host data too large for a kernel's arguments (lut's tables of a whole batch), as a stream-ordered
// device copy that lets one launch serve the batch. The bytes go through a pinned staging block (copied
// there on the host, then cudaMemcpyAsync: from pinned memory it never waits for the stream) into
// cudaMallocAsync memory, freed with cudaFreeAsync when this object dies (after the launches made meanwhile,
// in stream order). A staging block is reused once the event recorded after its copy has completed (queried,
// never waited for), so nothing synchronises; blocks are kept for the process (pinning memory is slow).
class DeviceCopy {
 public:
  DeviceCopy(const void* host, size_t bytes, cudaStream_t stream, const char* op);  // runtime.cu
  ~DeviceCopy();
  DeviceCopy(const DeviceCopy&) = delete;
  DeviceCopy& operator=(const DeviceCopy&) = delete;
  template <class T>
  const T* data() const {
    return static_cast<const T*>(data_);
  }

 private:
  void* data_ = nullptr;
  cudaStream_t stream_;
};

// Element pointer of (n, y, x, channel 0) in a view.
template <class T>
__device__ __forceinline__ T* pixel_ptr(const ImageView& v, int64_t n, int64_t y, int64_t x) {
  return static_cast<T*>(v.data) + n * v.sn + y * v.sh + x * v.sw;
}

// A 3-D grid over (x, y, sample) in blocks of 32 x 8 pixels: a warp reads 32 neighbouring pixels of one
// row (coalesced), and no thread divides to find its pixel (64-bit division is a long instruction
// sequence on a GPU, and it dominated the cost of the memory-bound kernels).
constexpr int kBlockX = 32, kBlockY = 8;

struct Grid {
  dim3 blocks, threads;
};

inline Grid pixel_grid(int64_t w, int64_t h, int64_t count, int64_t rows_per_block = kBlockY) {
  const auto cap = [](int64_t v, int64_t hi) { return static_cast<unsigned>(std::max<int64_t>(1, std::min(v, hi))); };
  return {dim3(cap((w + kBlockX - 1) / kBlockX, 1 << 30), cap((h + rows_per_block - 1) / rows_per_block, 65535),
               cap(count, 65535)),
          dim3(kBlockX, kBlockY)};
}

}  // namespace fastaug::cuda_detail

// Loops of one thread over its pixels (k = sample within the launch, y, x) of a pixel_grid launch.
#define FASTAUG_PIXEL_LOOP(k, y, x, count, height, width)                                        \
  for (int64_t k = blockIdx.z; k < (count); k += gridDim.z)                                      \
    for (int64_t y = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; y < (height);  \
         y += static_cast<int64_t>(gridDim.y) * blockDim.y)                                      \
      for (int64_t x = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; x < (width); \
           x += static_cast<int64_t>(gridDim.x) * blockDim.x)

// Grid-stride loop over i in [0, count).
#define FASTAUG_GRID_LOOP(i, count)                                                          \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (count); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
