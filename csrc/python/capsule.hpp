// DLPack capsule -> ImageView. The capsule is consumed (renamed used_*) and its deleter runs exactly
// once, when the Consumed object dies (under the GIL: bindings destroy it after re-acquiring it).
#pragma once
#include <pybind11/pybind11.h>

#include <memory>
#include <vector>

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

// A list (or tuple) of DLPack capsules of single images (rank 2 or 3, or rank 4 with N = 1) -> RaggedView. The
// images must share dtype, channel count and device with the first; errors name them name[i].
class ConsumedList {
 public:
  ConsumedList(pybind11::handle list, const char* name, bool writable);
  const RaggedView& view() const { return view_; }

 private:
  std::vector<std::unique_ptr<Consumed>> items_;
  std::vector<RaggedImage> images_;
  RaggedView view_;
};

}  // namespace fastaug::python
