// Routing by device, in exactly one place: every operator front door validates its arguments, then
// calls FASTAUG_ROUTE(view, "op", cpu::op(...), cuda::op(...)).
#pragma once
#include "../common/check.hpp"
#include "fastaug/image_view.hpp"

namespace fastaug::detail {

[[noreturn]] inline void fail_no_cuda(const char* op) {
  fail(op, ": got a CUDA image, but fastaug was built without CUDA; rebuild with "
           "-Ccmake.define.FASTAUG_CUDA=ON on a machine with nvcc");
}

}  // namespace fastaug::detail

#ifdef FASTAUG_WITH_CUDA
#define FASTAUG_ROUTE(view, op, cpu_call, cuda_call) \
  ((view).device == ::fastaug::Device::CPU ? (cpu_call) : (cuda_call))
#else
#define FASTAUG_ROUTE(view, op, cpu_call, cuda_call) \
  ((view).device == ::fastaug::Device::CPU ? (cpu_call) : ::fastaug::detail::fail_no_cuda(op))
#endif

namespace fastaug::detail {

// The separable filter loop behind sep_filter2d, gaussian_blur, box_blur and sobel (filter.cpp):
// per-sample kernels kx (kw each) and ky (kh each), already validated.
void run_sep_filter(const ImageView& src, const ImageView& dst, const float* kx, int kw, const float* ky, int kh,
                    Border border, const double fill[4], double delta, const char* op);

}  // namespace fastaug::detail
