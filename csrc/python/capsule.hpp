// DLPack capsule -> ImageView. The capsule is consumed (renamed used_*) and its deleter runs exactly
// once, when the Consumed object dies (under the GIL: bindings destroy it after re-acquiring it).
#pragma once
#include <pybind11/pybind11.h>

#include "fastaug/image_view.hpp"

namespace fastaug::python {

class Consumed {
 public:
  Consumed(pybind11::handle capsule, const char* name, bool writable);
  ~Consumed();
  Consumed(const Consumed&) = delete;
  Consumed& operator=(const Consumed&) = delete;
  const ImageView& view() const { return view_; }

 private:
  void* managed_ = nullptr;
  bool versioned_ = false;
  ImageView view_;
};

}  // namespace fastaug::python
