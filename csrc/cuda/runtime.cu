// CUDA availability, asked without ever failing: with the static runtime and no driver or GPU,
// cudaGetDeviceCount returns an error code whose text is the reason reported to the user. DeviceCopy's
// staging blocks.
#include <mutex>
#include <string>
#include <vector>

#include "../ops/backend.hpp"
#include "launch.cuh"

namespace fastaug::cuda_detail {
namespace {

// A pinned staging block of DeviceCopy: free for reuse once `done` (recorded after its copy) has completed.
struct Staging {
  void* host;
  size_t bytes;
  int device;
  cudaEvent_t done;
};

std::mutex& staging_mutex() {
  static std::mutex m;
  return m;
}

// Never destroyed: freeing pinned memory while the process exits can race the CUDA runtime's own teardown.
std::vector<Staging>& staging_blocks() {
  static auto* blocks = new std::vector<Staging>();
  return *blocks;
}

// A free block of at least `bytes` on `device`, or a new one (sizes rounded up to powers of two from 64 KiB,
// so that blocks are reused across batch sizes). Call with staging_mutex() held.
Staging& free_block(size_t bytes, int device, const char* op) {
  for (Staging& b : staging_blocks()) {
    if (b.device != device || b.bytes < bytes) continue;
    const cudaError_t e = cudaEventQuery(b.done);
    if (e == cudaSuccess) return b;
    if (e == cudaErrorNotReady) cudaGetLastError();  // still in flight: not an error to report later
  }
  Staging b{nullptr, size_t(64) << 10, device, nullptr};
  while (b.bytes < bytes) b.bytes *= 2;
  if (cudaHostAlloc(&b.host, b.bytes, cudaHostAllocPortable) != cudaSuccess) check_launch(op);
  if (cudaEventCreateWithFlags(&b.done, cudaEventDisableTiming) != cudaSuccess) {
    cudaFreeHost(b.host);
    check_launch(op);
  }
  staging_blocks().push_back(b);
  return staging_blocks().back();
}

}  // namespace

DeviceCopy::DeviceCopy(const void* host, size_t bytes, cudaStream_t stream, const char* op) : stream_(stream) {
  if (bytes == 0) return;
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) check_launch(op);
  if (cudaMallocAsync(&data_, bytes, stream) != cudaSuccess) check_launch(op);
  std::lock_guard<std::mutex> lock(staging_mutex());
  Staging& block = free_block(bytes, device, op);
  std::memcpy(block.host, host, bytes);
  if (cudaMemcpyAsync(data_, block.host, bytes, cudaMemcpyHostToDevice, stream) != cudaSuccess) check_launch(op);
  if (cudaEventRecord(block.done, stream) != cudaSuccess) check_launch(op);
}

DeviceCopy::~DeviceCopy() {
  if (data_) cudaFreeAsync(data_, stream_);
}

}  // namespace fastaug::cuda_detail

namespace fastaug::cuda {

bool device_available(std::string* reason) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    *reason = detail::cat("no usable CUDA driver or device (CUDA runtime: ", cudaGetErrorString(e), ")");
    return false;
  }
  if (count == 0) {
    *reason = "no CUDA device present";
    return false;
  }
  *reason = detail::cat(count, " CUDA device(s) present");
  return true;
}

}  // namespace fastaug::cuda
