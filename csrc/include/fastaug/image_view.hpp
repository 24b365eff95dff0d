// ImageView: a strided batch of images, N x H x W x C, any layout (strides are in elements, may be
// negative). It never owns memory: the caller's framework does.
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

}  // namespace fastaug
