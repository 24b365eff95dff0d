// CUDA availability, asked without ever failing: with the static runtime and no driver or GPU,
// cudaGetDeviceCount returns an error code whose text is the reason reported to the user.
#include <string>
#include "../ops/backend.hpp"

#include "launch.cuh"

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
