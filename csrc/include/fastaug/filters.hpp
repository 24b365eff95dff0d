// The fastaug C++ API, filters: filter2d, sep_filter2d, gaussian_blur, box_blur, median_blur, and the
// derivatives sobel and edges.
// The contract every operator shares (layouts, per-sample parameters, rounding, errors) is in ops.hpp.
#pragma once
#include <cstdint>

#include "fastaug/export.hpp"
#include "fastaug/image_view.hpp"
#include "fastaug/types.hpp"

// Every function declared in this header is exported (the library hides everything else).
FASTAUG_API_BEGIN
namespace fastaug {

// cv2.filter2D (correlation, anchor at the kernel centre kh/2, kw/2): kernel is kh*kw floats per sample.
void filter2d(const ImageView& src, const ImageView& dst, const float* kernel, int kh, int kw, Border border,
              const double fill[4], Stream stream = {});

// cv2.sepFilter2D: kx is kw floats, ky is kh floats per sample; out = correlation + delta.
// dst may be float32 when src is uint8 (as cv2's ddepth=CV_32F).
void sep_filter2d(const ImageView& src, const ImageView& dst, const float* kx, int kw, const float* ky, int kh,
                  Border border, const double fill[4], double delta, Stream stream = {});

// cv2.GaussianBlur: sigma is 2 doubles per sample (sigma_x, sigma_y); ksize odd and > 0. uint8 takes
// OpenCV's fixed-point path (bit-exact), float32 the float separable filter with cv2.getGaussianKernel's kernel.
void gaussian_blur(const ImageView& src, const ImageView& dst, int kh, int kw, const double* sigma, Border border,
                   Stream stream = {});

// cv2.blur (normalised box filter).
void box_blur(const ImageView& src, const ImageView& dst, int kh, int kw, Border border, Stream stream = {});

// cv2.medianBlur: ksize odd; border is BORDER_REPLICATE as in OpenCV.
void median_blur(const ImageView& src, const ImageView& dst, int ksize, Stream stream = {});

// cv2.Sobel with ddepth=CV_32F: dst is float32. ksize 1, 3, 5, 7 or -1 (Scharr).
void sobel(const ImageView& src, const ImageView& dst, int dx, int dy, int ksize, double scale, double delta,
           Border border, Stream stream = {});

// Edge magnitude of a grey uint8 image (C = 1): saturate(sqrt(gx^2 + gy^2)) of the 3x3 Sobel
// derivatives with BORDER_REFLECT_101, uint8 out.
void edges(const ImageView& src, const ImageView& dst, Stream stream = {});

}  // namespace fastaug
FASTAUG_API_END
