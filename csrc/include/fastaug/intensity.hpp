// The fastaug C++ API, per-pixel and per-image intensity operators: equalize, to_gray, threshold, invert,
// normalize, lut, color_transform, channel_mean, hue_shift.
// The contract every operator shares (layouts, per-sample parameters, rounding, errors) is in ops.hpp.
#pragma once
#include <cstdint>

#include "fastaug/export.hpp"
#include "fastaug/image_view.hpp"
#include "fastaug/types.hpp"

// Every function declared in this header is exported (the library hides everything else).
FASTAUG_API_BEGIN
namespace fastaug {

// cv2.equalizeHist per image and per channel; uint8 only.
void equalize(const ImageView& src, const ImageView& dst, Stream stream = {});

// cv2.cvtColor RGB2GRAY / RGBA2GRAY (C = 1 is copied); dst has C = 1.
void to_gray(const ImageView& src, const ImageView& dst, Stream stream = {});

// cv2.threshold: thresh and maxval are one double per sample.
void threshold(const ImageView& src, const ImageView& dst, const double* thresh, const double* maxval,
               ThresholdMode mode, Stream stream = {});

// 255 - x for uint8 (cv2.bitwise_not), 1 - x for float32.
void invert(const ImageView& src, const ImageView& dst, Stream stream = {});

// dst = (src * scale - mean[c]) / std[c] into a dst of any layout (e.g. an NCHW tensor viewed as NHWC), of
// dtype float32, or float16 / bfloat16: the float32 result rounded to nearest even in the same pass (the bits
// of NumPy's astype(float16) and torch's .to(float16 / bfloat16) of the float32 result).
void normalize(const ImageView& src, const ImageView& dst, const double* mean, const double* std, double scale,
               Stream stream = {});
// normalize with color_transform fused in front: each pixel first goes through the per-sample colour matrix
// (N * C * (C + 1) doubles, as color_transform takes it, with its arithmetic and, for uint8, its rounding and
// saturation), then through normalize, in one pass: the bits of normalize(color_transform(src, matrix), ...).
// A null matrix is plain normalize.
void normalize(const ImageView& src, const ImageView& dst, const double* mean, const double* std, double scale,
               const double* matrix, Stream stream = {});

// cv2.LUT per image and channel; uint8 only. table is N * C * 256 bytes: the table of sample n and channel c
// starts at (n * C + c) * 256.
void lut(const ImageView& src, const ImageView& dst, const uint8_t* table, Stream stream = {});

// cv2.transform(img, m) with a square-plus-offset matrix per sample: dst[c] = saturate(sum_k m[c][k] * src[k] +
// m[c][C]). matrix is N * C * (C + 1) doubles (row c of sample n at (n * C + c) * (C + 1)). The arithmetic is
// OpenCV 5's on x86 with FMA, bit for bit on uint8: C = 1 and diagonal matrices (every off-diagonal entry within
// FLT_EPSILON of 0, which is then ignored) fma(m[c][c], v, m[c][C]); C = 3 with |m[c][0..1]| < 32 and
// |m[c][2..3]| < 8192 OpenCV's 10-bit fixed point; otherwise the float chain fma(m0, v0, m1 * v1), then
// fma(m[k], v[k], .) for k >= 2, then + m[c][C]. float32 images take the float formulas without saturation.
void color_transform(const ImageView& src, const ImageView& dst, const double* matrix, Stream stream = {});

// cv2.mean per image and channel into out, N * C doubles (host memory): integer sums for uint8, double sums
// for float32 (in one fixed order on every backend), times 1 / (H * W) as cv2.mean. On a CUDA image it waits
// for the stream (the means are copied to the host).
void channel_mean(const ImageView& src, double* out, Stream stream = {});

// torchvision's adjust_hue (transforms.v2, 0.29) per image: hue is one double per sample, a fraction of a turn
// in [-0.5, 0.5]. RGB (C = 3) and RGBA (C = 4, alpha copied); C = 1 is copied, as torchvision returns a grey
// image. float32 images hold values in [0, 1]; uint8 goes through torchvision's conversions (x / 255 as
// x * float32(1 / 255), back as trunc(x * 255.999)). The float32 maths is torchvision's, operation for
// operation (RGB -> HSV, shift, HSV -> RGB): bit-exact with torchvision on its CPU.
void hue_shift(const ImageView& src, const ImageView& dst, const double* hue, Stream stream = {});

}  // namespace fastaug
FASTAUG_API_END
