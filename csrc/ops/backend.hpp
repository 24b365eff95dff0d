// Routing by device, in exactly one place: every operator front door validates its arguments, then
// calls FASTAUG_ROUTE(view, "op", cpu::op(...), cuda::op(...)).
#pragma once
#include <string>

#include "../common/check.hpp"
#include "fastaug/image_view.hpp"

namespace fastaug::detail {

struct ResizeMethod;  // resize_pixel.hpp
struct ColorMatrix;   // intensity_pixel.hpp

[[noreturn]] inline void fail_no_cuda(const char* op) {
  fail(op,
       ": got a CUDA image, but fastaug was built without CUDA; rebuild with "
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

struct IndexMap;

// The separable filter loop behind sep_filter2d, gaussian_blur, box_blur and sobel (filter.cpp):
// per-sample kernels kx (kw each) and ky (kh each), already validated.
void run_sep_filter(const ImageView& src, const ImageView& dst, const float* kx, int kw, const float* ky, int kh,
                    Border border, const double fill[4], double delta, const char* op, Stream stream);

}  // namespace fastaug::detail

#ifdef FASTAUG_WITH_CUDA
// The CUDA kernels (csrc/cuda/<family>.cu), called by the front doors after validation with host
// parameter arrays already prepared exactly as the CPU loops receive them. Each enqueues on `stream`
// and never synchronises.
namespace fastaug::cuda {

void warp(const ImageView& src, const ImageView& dst, const float* minv, bool perspective, Interp interp, Border border,
          const float fill[4], Stream stream);
void warp(const RaggedView& src, const ImageView& dst, const float* minv, bool perspective, Interp interp,
          Border border, const float fill[4], Stream stream);
// The warps' backward: grad_src and src may be null (not asked for / not needed); grad_inv (host, 9 per sample)
// null when not asked for; the call waits for the stream when it is not.
void warp_backward(const ImageView& grad, const ImageView* src, const ImageView* grad_src, const float* minv,
                   bool perspective, Interp interp, Border border, const float fill[4], double* grad_inv,
                   Stream stream);
void resize(const ImageView& src, const ImageView& dst, const detail::ResizeMethod& method, Stream stream);
void copy(const ImageView& src, const ImageView& dst, const detail::IndexMap* maps, const char* op, Stream stream);
void sep_filter(const ImageView& src, const ImageView& dst, const float* kx, int kw, const float* ky, int kh,
                Border border, const float fill[4], float delta, const char* op, Stream stream);
void filter2d(const ImageView& src, const ImageView& dst, const float* kernel, int kh, int kw, Border border,
              const float fill[4], Stream stream);
// gaussian_blur on uint8: the fixed-point kernels of gaussian_kernel_q8 (kw, kh per sample).
void gaussian_q8(const ImageView& src, const ImageView& dst, const uint16_t* kx, int kw, const uint16_t* ky, int kh,
                 Border border, Stream stream);
void box(const ImageView& src, const ImageView& dst, int kh, int kw, Border border, Stream stream);
void median(const ImageView& src, const ImageView& dst, int ksize, Stream stream);
void edges(const ImageView& src, const ImageView& dst, Stream stream);
void equalize(const ImageView& src, const ImageView& dst, Stream stream);
void to_gray(const ImageView& src, const ImageView& dst, Stream stream);
// thresh and maxval per sample, as the CPU loop gets them (uint8: floored thresh, saturated maxval).
void threshold(const ImageView& src, const ImageView& dst, const float* thresh, const float* maxval, ThresholdMode mode,
               Stream stream);
void invert(const ImageView& src, const ImageView& dst, Stream stream);
// normalize; matrices (one per sample, or null) puts color_transform in front of it.
void normalize(const ImageView& src, const ImageView& dst, const float a[4], const float b[4],
               const detail::ColorMatrix* matrices, Stream stream);
// lut's tables (N * C * 256 bytes), color_transform's prepared matrices (one per sample).
void lut(const ImageView& src, const ImageView& dst, const uint8_t* table, Stream stream);
void color_transform(const ImageView& src, const ImageView& dst, const detail::ColorMatrix* matrices, Stream stream);
// The one operator that synchronises: the N * C means are copied to the host array out.
void channel_mean(const ImageView& src, double* out, Stream stream);
// hue_shift's shift per sample, as float32.
void hue_shift(const ImageView& src, const ImageView& dst, const float* hue, Stream stream);

// Whether a CUDA device can be used, and if not, the runtime's reason.
bool device_available(std::string* reason);

}  // namespace fastaug::cuda
#endif
