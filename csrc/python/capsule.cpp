#include "capsule.hpp"

#include <string>

#include "../common/check.hpp"
#include "../dlpack/dlpack.hpp"

namespace fastaug::python {
namespace {

constexpr const char* kName = "dltensor";
constexpr const char* kUsedName = "used_dltensor";
constexpr const char* kVersionedName = "dltensor_versioned";
constexpr const char* kUsedVersionedName = "used_dltensor_versioned";

// DLPack tensor of rank 2 (H, W), 3 (H, W, C) or 4 (N, H, W, C) -> N x H x W x C view. An output (writable)
// may also be float16 or bfloat16 (the operators check which dtypes they write).
ImageView to_view(const dlpack::Tensor& t, const char* name, bool writable) {
  using detail::fail;
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

}  // namespace

Consumed::Consumed(pybind11::handle capsule, const char* name, bool writable) {
  PyObject* obj = capsule.ptr();
  if (!PyCapsule_CheckExact(obj)) detail::fail(name, ": expected a DLPack capsule");
  if (PyCapsule_IsValid(obj, kVersionedName)) {
    auto* m = static_cast<dlpack::ManagedTensorVersioned*>(PyCapsule_GetPointer(obj, kVersionedName));
    if (m->version.major != 1) detail::fail(name, ": DLPack major version ", m->version.major, " is not supported");
    if (writable && (m->flags & dlpack::kFlagReadOnly)) detail::fail(name, ": the output array is read-only");
    view_ = to_view(m->dl_tensor, name, writable);  // may throw before we take ownership
    PyCapsule_SetName(obj, kUsedVersionedName);
    managed_ = m;
    versioned_ = true;
  } else if (PyCapsule_IsValid(obj, kName)) {
    auto* m = static_cast<dlpack::ManagedTensor*>(PyCapsule_GetPointer(obj, kName));
    view_ = to_view(m->dl_tensor, name, writable);
    PyCapsule_SetName(obj, kUsedName);
    managed_ = m;
  } else {
    detail::fail(name, ": the DLPack capsule was already consumed or has an unknown name");
  }
}

ConsumedList::ConsumedList(pybind11::handle list, const char* name, bool writable) {
  const pybind11::sequence items = pybind11::reinterpret_borrow<pybind11::sequence>(list);
  const size_t n = items.size();
  FASTAUG_CHECK(n > 0, name, ": expected a non-empty list of images");
  for (size_t i = 0; i < n; ++i) {
    const std::string item = detail::cat(name, "[", i, "]");
    items_.push_back(std::make_unique<Consumed>(items[i], item.c_str(), writable));
    const ImageView& v = items_.back()->view();
    const ImageView& first = items_.front()->view();
    FASTAUG_CHECK(v.n == 1, item, ": expected one image, (H, W) or (H, W, C), got ", v.n, " images");
    const auto kind = [](const ImageView& u) {
      return detail::cat("dtype ", dtype_name(u.dtype), ", ", u.c, " channels on ",
                         u.device == Device::CPU ? std::string("cpu") : detail::cat("cuda:", u.device_id));
    };
    FASTAUG_CHECK(kind(v) == kind(first), item, ": expected ", kind(first), " like ", name, "[0], got ", kind(v));
    images_.push_back(RaggedImage{v.data, v.h, v.w, v.sh, v.sw, v.sc});
  }
  const ImageView& first = items_.front()->view();
  view_.images = images_.data();
  view_.n = static_cast<int64_t>(n);
  view_.c = first.c;
  view_.dtype = first.dtype;
  view_.device = first.device;
  view_.device_id = first.device_id;
}

Consumed::~Consumed() {
  if (!managed_) return;
  if (versioned_) {
    auto* m = static_cast<dlpack::ManagedTensorVersioned*>(managed_);
    if (m->deleter) m->deleter(m);
  } else {
    auto* m = static_cast<dlpack::ManagedTensor*>(managed_);
    if (m->deleter) m->deleter(m);
  }
}

}  // namespace fastaug::python
