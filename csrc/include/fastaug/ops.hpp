// The fastaug C++ API: one function per operator, over ImageViews (any layout, strides in elements).
//
// Shared contract (each function adds its own):
// - Images are N x H x W x C with C in {1, 3, 4}, dtype uint8 or float32, unless a function says otherwise.
// - Per-sample parameters are arrays with one entry per sample (N entries of the stated size); a caller
//   that wants one value for all repeats it. The pointers are host memory.
// - src and dst must not overlap; dst's shape and dtype are validated against what the op produces.
// - uint8 results are rounded to nearest (ties to even, like cvRound) and saturated to [0, 255].
// - Bad arguments throw fastaug::Error (a std::invalid_argument naming the argument) before any memory is touched;
//   device failures throw fastaug::DeviceError (a std::runtime_error). See types.hpp.
// - Coordinates follow OpenCV: pixel centres are at integer coordinates.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "fastaug/export.hpp"
#include "fastaug/image_view.hpp"
#include "fastaug/types.hpp"

// Every function declared in this header is exported (the library hides everything else).
FASTAUG_API_BEGIN
namespace fastaug {

// ---- geometric -------------------------------------------------------------------------------------

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

// ---- filters ---------------------------------------------------------------------------------------

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

// ---- intensity -------------------------------------------------------------------------------------

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

// ---- runtime ---------------------------------------------------------------------------------------

void set_num_threads(int n);
int get_num_threads();
// Whether this process was forked from one that loaded fastaug: its CPU kernels then run on one thread
// (GNU OpenMP hangs in a child forked after its parent ran a parallel region).
bool in_forked_child();

// The instruction set the CPU kernels run with on this machine, chosen at load time: "x86-64-v4"
// (AVX-512), "avx2", or "x86-64" (the SSE2 baseline); the results are the same bits on each.
const char* cpu_target();

// Whether CUDA images can be processed: the CUDA kernels are built and a device is usable. If not and
// reason is given, it receives why (e.g. "built without CUDA", or the CUDA runtime's own message), as a
// NUL-terminated string cut to reason_size bytes. No std::string crosses the library boundary: a program built
// with another standard library (or ABI) can call it.
bool cuda_available(char* reason, size_t reason_size);
inline bool cuda_available(std::string* reason = nullptr) {
  char buf[512] = {};
  const bool ok = cuda_available(buf, sizeof buf);
  if (reason) *reason = buf;
  return ok;
}

}  // namespace fastaug
FASTAUG_API_END
