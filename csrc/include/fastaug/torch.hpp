// libtorch interop, header-only: an at::Tensor as a fastaug view, and torch's current CUDA stream. Include it
// in a program that links libtorch (fastaug itself never does). Images are (H, W), (H, W, C) or (N, H, W, C)
// tensors of uint8 or float32 (float16 / bfloat16 as outputs); an NCHW batch is passed as
// t.permute({0, 2, 3, 1}), which is read through its strides with no copy:
//
//   at::Tensor x = torch::rand({8, 3, 224, 224});                  // NCHW float32
//   at::Tensor y = torch::empty_like(x);
//   auto src = fastaug::torch::view(x.permute({0, 2, 3, 1}), "x");
//   auto dst = fastaug::torch::view(y.permute({0, 2, 3, 1}), "y", /*writable=*/true);
//   fastaug::invert(src, dst, fastaug::torch::current_stream(x));
//
// CUDA tensors: define FASTAUG_TORCH_CUDA before including this header (and link torch's CUDA library) so that
// current_stream returns torch's current stream on the tensor's device; without it a CUDA tensor is refused
// rather than run on a stream torch does not order with its own work.
#pragma once
#include <ATen/ATen.h>

#include <string>

#include "fastaug/image_view.hpp"
#include "fastaug/types.hpp"

#ifdef FASTAUG_TORCH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace fastaug::torch {

// A borrowing view of t (t must outlive it). Errors throw fastaug::Error naming the tensor as `name`.
inline ImageView view(const at::Tensor& t, const char* name = "tensor", bool writable = false) {
  const auto fail = [&](const std::string& what) { throw Error(std::string(name) + ": " + what); };
  ImageView v;
  switch (t.scalar_type()) {
    case at::kByte:
      v.dtype = DType::UInt8;
      break;
    case at::kFloat:
      v.dtype = DType::Float32;
      break;
    case at::kHalf:
    case at::kBFloat16:
      if (!writable)
        fail("expected dtype uint8 or float32 for an input, got " + std::string(c10::toString(t.scalar_type())));
      v.dtype = t.scalar_type() == at::kHalf ? DType::Float16 : DType::BFloat16;
      break;
    default:
      fail("expected dtype uint8 or float32, got " + std::string(c10::toString(t.scalar_type())));
  }
  if (t.is_cuda()) {
#ifndef FASTAUG_TORCH_CUDA
    fail("a CUDA tensor needs FASTAUG_TORCH_CUDA defined before including fastaug/torch.hpp (torch's stream)");
#endif
    v.device = Device::CUDA;
    v.device_id = t.get_device();
  } else if (!t.is_cpu()) {
    fail("expected a CPU or CUDA tensor, got device " + t.device().str());
  }
  const int64_t nd = t.dim();
  if (nd < 2 || nd > 4) fail("expected rank 2 (H, W), 3 (H, W, C) or 4 (N, H, W, C), got rank " + std::to_string(nd));
  const int64_t off = 4 - (nd == 2 ? 3 : nd);  // the slot of the tensor's first axis in N, H, W, C
  int64_t shape[4] = {1, 1, 1, 1}, strides[4] = {0, 0, 0, 1};
  for (int64_t k = 0; k < (nd == 2 ? 2 : nd); ++k) shape[off + k] = t.size(k), strides[off + k] = t.stride(k);
  v.n = shape[0], v.h = shape[1], v.w = shape[2], v.c = shape[3];
  v.sn = strides[0], v.sh = strides[1], v.sw = strides[2], v.sc = strides[3];
  v.data = t.data_ptr();
  return v;
}

// The stream to pass to a fastaug call on t: torch's current CUDA stream on t's device (FASTAUG_TORCH_CUDA), or
// none for a CPU tensor.
inline Stream current_stream(const at::Tensor& t) {
#ifdef FASTAUG_TORCH_CUDA
  if (t.is_cuda()) return Stream{at::cuda::getCurrentCUDAStream(t.get_device()).stream()};
#else
  (void)t;
#endif
  return Stream{};
}

}  // namespace fastaug::torch
