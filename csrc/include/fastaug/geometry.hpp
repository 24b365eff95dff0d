// The fastaug C++ API, geometric operators: warp_affine / warp_perspective (dense and ragged sources, and
// their backward passes), resize (dense and ragged), flip, rotate90, crop, tiles.
// The contract every operator shares (layouts, per-sample parameters, rounding, errors) is in ops.hpp.
#pragma once
#include <cstdint>

#include "fastaug/export.hpp"
#include "fastaug/image_view.hpp"
#include "fastaug/types.hpp"

// Every function declared in this header is exported (the library hides everything else).
FASTAUG_API_BEGIN
namespace fastaug {

// cv2.warpAffine: M is 6 doubles per sample, forward (src -> dst), inverted here. fill: 4 values,
// one per channel (only used for Border::Constant). Interp: Nearest, Linear or Cubic.
void warp_affine(const ImageView& src, const ImageView& dst, const double* M, Interp interp, Border border,
                 const double fill[4], Stream stream = {});

// cv2.warpPerspective: H is 9 doubles per sample, forward (src -> dst), inverted here.
void warp_perspective(const ImageView& src, const ImageView& dst, const double* H, Interp interp, Border border,
                      const double fill[4], Stream stream = {});

// The same over a ragged batch, in one call: image n of src (its own size) warped into dst's image n (all of
// dst's H x W). Every image is validated (errors name it as src[n]) before any is touched.
void warp_affine(const RaggedView& src, const ImageView& dst, const double* M, Interp interp, Border border,
                 const double fill[4], Stream stream = {});
void warp_perspective(const RaggedView& src, const ImageView& dst, const double* H, Interp interp, Border border,
                      const double fill[4], Stream stream = {});

// The backward (adjoint) of warp_affine / warp_perspective on float32 images, for autograd. M / H are the
// forward's matrices (6 or 9 doubles per sample, forward, inverted here exactly as the forward inverts them into
// the float32 maps Minv it samples with); grad is dL/d(output), N x h x w x C float32, any strides. Interp:
// Nearest or Linear. Either output may be skipped (null), not both:
// - grad_src (N x H x W x C float32, overwritten): the exact adjoint (transpose) of the forward's linear map in
//   the source for the forward's float32 coordinates and weights. A constant border's taps outside the image
//   take nothing; the other borders add each tap's share to the source pixel it reads (border-mapped).
// - grad_inv (9 doubles per sample, host memory, overwritten): dL/dMinv, the gradient with respect to the
//   inverse (dst -> src) map that the forward samples with, row-major 3 x 3 (for an affine map the last row is
//   0). Needs src (N x H x W x C float32, the forward's input). Linear: the bilinear interpolant's derivative,
//   constant-border taps reading fill; Nearest: 0. Summed per sample in double. To get dL/dM of the forward
//   matrix: dL/dM = -Minv^T . grad_inv . Minv^T (its first two rows for an affine M).
// A dst pixel whose source coordinates are NaN (a map that overflows float32) contributes nothing. On the CPU the
// results are the same bits whatever the thread count; on CUDA the image is scattered with atomic adds (its float
// sums in no fixed order), and a call with grad_inv waits for the stream (grad_inv is copied to the host).
void warp_affine_backward(const ImageView& grad, const ImageView* src, const ImageView* grad_src, const double* M,
                          Interp interp, Border border, const double fill[4], double* grad_inv, Stream stream = {});
void warp_perspective_backward(const ImageView& grad, const ImageView* src, const ImageView* grad_src, const double* H,
                               Interp interp, Border border, const double fill[4], double* grad_inv,
                               Stream stream = {});

// cv2.resize to dst's H x W: Nearest, Linear, Cubic, Area.
void resize(const ImageView& src, const ImageView& dst, Interp interp, Stream stream = {});

// The same over a ragged batch, in one call: image n of src to image n of dst, each pair its own sizes. Every
// image is validated (errors name src[n] / dst[n]) before any is touched; then the images are resized one
// after another (each in parallel over its rows on the CPU, one launch each on CUDA).
void resize(const RaggedView& src, const RaggedView& dst, Interp interp, Stream stream = {});

// cv2.flip: code per sample, 0 = around the x axis (rows reversed), 1 = around the y axis, -1 = both.
void flip(const ImageView& src, const ImageView& dst, const int32_t* codes, Stream stream = {});

// np.rot90 / cv2.rotate: k quarter turns counter-clockwise per sample. All k must give dst's shape.
void rotate90(const ImageView& src, const ImageView& dst, const int32_t* k, Stream stream = {});

// Crop: 2 int64 per sample (top, left); the crop's height and width are dst's. Boxes must lie inside src.
void crop(const ImageView& src, const ImageView& dst, const int64_t* top_left, Stream stream = {});

// Tiles: each image cut into tiles of dst's H x W at the given stride (row-major, image-major);
// dst.n must be src.n * tiles_y * tiles_x.
void tiles(const ImageView& src, const ImageView& dst, int64_t stride_y, int64_t stride_x, Stream stream = {});

}  // namespace fastaug
FASTAUG_API_END
