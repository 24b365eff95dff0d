// ImageView: a strided batch of images, N x H x W x C, any layout (strides are in elements, may be
// negative). RaggedView: N images of different sizes. Neither owns memory: the caller's framework does.
#pragma once
#include <cstdint>

#include "fastaug/types.hpp"

namespace fastaug {

struct ImageView {
  void* data = nullptr;  // address of element (0, 0, 0, 0)
  DType dtype = DType::UInt8;
  Device device = Device::CPU;
  int device_id = 0;
  int64_t n = 0, h = 0, w = 0, c = 0;
  int64_t sn = 0, sh = 0, sw = 0, sc = 0;  // element strides

  int64_t numel() const { return n * h * w * c; }
  bool empty() const { return numel() == 0; }
  // True when each image's H*W*C block is dense and channels-last, so rows can be walked linearly.
  bool rows_dense() const { return sc == 1 && sw == c; }

  // Compact NHWC view over a caller-owned buffer.
  static ImageView nhwc(void* data, DType dtype, int64_t n, int64_t h, int64_t w, int64_t c,
                        Device device = Device::CPU) {
    ImageView v;
    v.data = data;
    v.dtype = dtype;
    v.device = device;
    v.n = n, v.h = h, v.w = w, v.c = c;
    v.sc = 1, v.sw = c, v.sh = w * c, v.sn = h * w * c;
    return v;
  }
};

// One image of a RaggedView: the address of its element (0, 0, 0), its height and width, element strides.
struct RaggedImage {
  void* data = nullptr;
  int64_t h = 0, w = 0;
  int64_t sh = 0, sw = 0, sc = 0;
};

// N images of different sizes (a list of photographs or crops) that share dtype, channel count and device.
// images points to n RaggedImage in host memory, owned by the caller.
struct RaggedView {
  const RaggedImage* images = nullptr;
  int64_t n = 0, c = 0;
  DType dtype = DType::UInt8;
  Device device = Device::CPU;
  int device_id = 0;

  // Image i as a one-image ImageView.
  ImageView image(int64_t i) const {
    const RaggedImage& r = images[i];
    ImageView v;
    v.data = r.data;
    v.dtype = dtype;
    v.device = device;
    v.device_id = device_id;
    v.n = 1, v.h = r.h, v.w = r.w, v.c = c;
    v.sh = r.sh, v.sw = r.sw, v.sc = r.sc, v.sn = 0;
    return v;
  }
};

}  // namespace fastaug
