// DLPack tensors as ImageViews (include/fastaug/dlpack.hpp). The Python layer (python/capsule.cpp) takes its
// capsules' tensors through here too, so both languages accept and refuse the same tensors with the same words.
#include <cstdint>

#include "../common/check.hpp"
#include "fastaug/dlpack.hpp"

namespace fastaug {

// DLPack tensor of rank 2 (H, W), 3 (H, W, C) or 4 (N, H, W, C) -> N x H x W x C view. An output (writable)
// may also be float16 or bfloat16 (the operators check which dtypes they write).
ImageView view_from_dlpack(const dlpack::Tensor& t, const char* name, bool writable) {
  using detail::fail;
  FASTAUG_CHECK(t.ndim == 0 || t.shape != nullptr, name, ": shape is null");
  ImageView v;
  if (t.dtype.lanes != 1) fail(name, ": vector dtypes (lanes > 1) are not supported");
  if (t.dtype.code == dlpack::kUInt && t.dtype.bits == 8) {
    v.dtype = DType::UInt8;
  } else if (t.dtype.code == dlpack::kFloat && t.dtype.bits == 32) {
    v.dtype = DType::Float32;
  } else if (writable && t.dtype.code == dlpack::kFloat && t.dtype.bits == 16) {
    v.dtype = DType::Float16;
  } else if (writable && t.dtype.code == dlpack::kBfloat && t.dtype.bits == 16) {
    v.dtype = DType::BFloat16;
  } else {
    fail(name,
         writable ? ": expected dtype uint8, float32, float16 or bfloat16, got DLPack type code "
                  : ": expected dtype uint8 or float32, got DLPack type code ",
         int(t.dtype.code), " with ", int(t.dtype.bits), " bits");
  }
  switch (t.device.device_type) {
    case dlpack::kCPU:
    case dlpack::kCUDAHost:
      v.device = Device::CPU;
      break;
    case dlpack::kCUDA:
    case dlpack::kCUDAManaged:
      v.device = Device::CUDA;
      break;
    default:
      fail(name, ": device type ", t.device.device_type, " is not served by any fastaug backend (cpu, cuda)");
  }
  v.device_id = t.device.device_id;
  const int nd = t.ndim;
  if (nd < 2 || nd > 4) fail(name, ": expected rank 2, 3 or 4, got rank ", nd);
  // Rank 4 is (N, H, W, C), rank 3 (H, W, C), rank 2 (H, W): the slot in N, H, W, C of each axis.
  static const int kSlots[3][4] = {{1, 2}, {1, 2, 3}, {0, 1, 2, 3}};
  int64_t shape[4] = {1, 1, 1, 1}, strides[4] = {0, 0, 1, 1};
  int64_t compact = 1;
  for (int k = nd - 1; k >= 0; --k) {
    const int slot = kSlots[nd - 2][k];
    shape[slot] = t.shape[k];
    strides[slot] = t.strides ? t.strides[k] : compact;
    compact *= t.shape[k];
  }
  v.n = shape[0], v.h = shape[1], v.w = shape[2], v.c = shape[3];
  v.sn = strides[0], v.sh = strides[1], v.sw = strides[2], v.sc = strides[3];
  const size_t elem = static_cast<size_t>(dtype_size(v.dtype));
  v.data = static_cast<char*>(t.data) + t.byte_offset;
  if (v.numel() > 0 && reinterpret_cast<uintptr_t>(v.data) % elem != 0)
    fail(name, ": data is not aligned to its element size");
  return v;
}

ImageView view_from_dlpack(const dlpack::ManagedTensor* tensor, const char* name, bool writable) {
  FASTAUG_CHECK(tensor != nullptr, name, ": the DLPack tensor is null");
  return view_from_dlpack(tensor->dl_tensor, name, writable);
}

ImageView view_from_dlpack(const dlpack::ManagedTensorVersioned* tensor, const char* name, bool writable) {
  FASTAUG_CHECK(tensor != nullptr, name, ": the DLPack tensor is null");
  FASTAUG_CHECK(tensor->version.major == 1, name, ": DLPack major version ", tensor->version.major,
                " is not supported (expected 1)");
  FASTAUG_CHECK(!writable || !(tensor->flags & dlpack::kFlagReadOnly), name, ": the DLPack tensor is read-only");
  return view_from_dlpack(tensor->dl_tensor, name, writable);
}

}  // namespace fastaug
