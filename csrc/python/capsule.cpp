#include "capsule.hpp"

#include <string>

#include "../common/check.hpp"
#include "fastaug/dlpack.hpp"

namespace fastaug::python {
namespace {

constexpr const char* kName = "dltensor";
constexpr const char* kUsedName = "used_dltensor";
constexpr const char* kVersionedName = "dltensor_versioned";
constexpr const char* kUsedVersionedName = "used_dltensor_versioned";

}  // namespace

Consumed::Consumed(pybind11::handle capsule, const char* name, bool writable) {
  PyObject* obj = capsule.ptr();
  if (!PyCapsule_CheckExact(obj)) detail::fail(name, ": expected a DLPack capsule");
  if (PyCapsule_IsValid(obj, kVersionedName)) {
    auto* m = static_cast<dlpack::ManagedTensorVersioned*>(PyCapsule_GetPointer(obj, kVersionedName));
    if (m->version.major != 1) detail::fail(name, ": DLPack major version ", m->version.major, " is not supported");
    if (writable && (m->flags & dlpack::kFlagReadOnly)) detail::fail(name, ": the output array is read-only");
    view_ = view_from_dlpack(m->dl_tensor, name, writable);  // may throw before we take ownership
    PyCapsule_SetName(obj, kUsedVersionedName);
    managed_ = m;
    versioned_ = true;
  } else if (PyCapsule_IsValid(obj, kName)) {
    auto* m = static_cast<dlpack::ManagedTensor*>(PyCapsule_GetPointer(obj, kName));
    view_ = view_from_dlpack(m->dl_tensor, name, writable);
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
