// DLPack: fastaug's own definitions of the DLPack ABI (v1.x), written from the published specification, and
// view_from_dlpack, which turns a DLPack tensor (from PyTorch, CuPy, JAX, NumPy, ...) into an ImageView.
#pragma once
#include <cstdint>
#include <type_traits>

#include "fastaug/export.hpp"
#include "fastaug/image_view.hpp"

namespace fastaug::dlpack {

enum DeviceType : int32_t { kCPU = 1, kCUDA = 2, kCUDAHost = 3, kCUDAManaged = 13 };
enum TypeCode : uint8_t { kInt = 0, kUInt = 1, kFloat = 2, kBfloat = 4, kBool = 6 };

struct Device {
  int32_t device_type;
  int32_t device_id;
};

struct DataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};

struct Tensor {
  void* data;
  Device device;
  int32_t ndim;
  DataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; NULL means compact row-major
  uint64_t byte_offset;
};

struct ManagedTensor {
  Tensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(ManagedTensor* self);
};

struct Version {
  uint32_t major;
  uint32_t minor;
};

inline constexpr uint64_t kFlagReadOnly = 1ULL << 0;

struct ManagedTensorVersioned {
  Version version;
  void* manager_ctx;
  void (*deleter)(ManagedTensorVersioned* self);
  uint64_t flags;
  Tensor dl_tensor;
};

}  // namespace fastaug::dlpack

FASTAUG_API_BEGIN
namespace fastaug {

// A view of a DLPack tensor of rank 2 (H, W), 3 (H, W, C) or 4 (N, H, W, C), as N x H x W x C. It BORROWS the
// memory: the tensor's owner must keep it alive while the view is used, and the deleter is never called here.
// Honours byte_offset and strides (NULL strides: compact row-major). Accepted: dtype uint8 or float32 (float16
// and bfloat16 too when writable, the outputs of normalize), lanes 1, device CPU or CUDA pinned host memory
// (Device::CPU) or CUDA and CUDA managed memory (Device::CUDA). Anything else throws fastaug::Error naming the
// tensor as `name` ("img: expected rank 2, 3 or 4, got rank 5"). Writable also rejects a read-only versioned
// tensor (the flag only exists there).
ImageView view_from_dlpack(const dlpack::Tensor& tensor, const char* name = "tensor", bool writable = false);
ImageView view_from_dlpack(const dlpack::ManagedTensor* tensor, const char* name = "tensor", bool writable = false);
// The versioned struct (DLPack >= 1.0): major version 1 only.
ImageView view_from_dlpack(const dlpack::ManagedTensorVersioned* tensor, const char* name = "tensor",
                           bool writable = false);

namespace dlpack_detail {
template <class T, class = void>
struct is_versioned : std::false_type {};
template <class T>
struct is_versioned<T, std::void_t<decltype(std::declval<T>().version.major), decltype(std::declval<T>().flags)>>
    : std::true_type {};
}  // namespace dlpack_detail

// The same for another definition of the DLPack structs, e.g. dmlc's <dlpack/dlpack.h> (DLManagedTensor,
// DLManagedTensorVersioned) as PyTorch ships it in <ATen/dlpack.h>: the fields are read by name, so any
// header of the specification works, included before or after this one.
template <class Managed, class = decltype(std::declval<const Managed&>().dl_tensor.byte_offset)>
ImageView view_from_dlpack(const Managed* tensor, const char* name = "tensor", bool writable = false) {
  if (tensor == nullptr) return view_from_dlpack(static_cast<const dlpack::ManagedTensor*>(nullptr), name, writable);
  const auto& t = tensor->dl_tensor;
  dlpack::Tensor own{
      t.data,
      {static_cast<int32_t>(t.device.device_type), static_cast<int32_t>(t.device.device_id)},
      static_cast<int32_t>(t.ndim),
      {static_cast<uint8_t>(t.dtype.code), static_cast<uint8_t>(t.dtype.bits), static_cast<uint16_t>(t.dtype.lanes)},
      const_cast<int64_t*>(reinterpret_cast<const int64_t*>(t.shape)),
      const_cast<int64_t*>(reinterpret_cast<const int64_t*>(t.strides)),
      static_cast<uint64_t>(t.byte_offset)};
  if constexpr (dlpack_detail::is_versioned<Managed>::value) {
    dlpack::ManagedTensorVersioned v{
        {static_cast<uint32_t>(tensor->version.major), static_cast<uint32_t>(tensor->version.minor)},
        nullptr,
        nullptr,
        static_cast<uint64_t>(tensor->flags),
        own};
    return view_from_dlpack(&v, name, writable);
  } else {
    return view_from_dlpack(own, name, writable);
  }
}

}  // namespace fastaug
FASTAUG_API_END
