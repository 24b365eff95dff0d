// The fastaug C++ API, the fused-geometry pipeline: Python's Compose geometric runs, with the per-sample
// parameters given by the caller (drawn with the caller's own generator, or by Python's Compose with
// return_params=True and shipped over).
//
// A Geometry is one sample's chain of geometric transforms (the transforms of fastaug.transforms, the same
// names and the same parameters as their Python params dicts), composed into ONE forward 3x3 matrix and the
// canvas size after it. warp_fused resamples every sample once through its matrix, as Compose does: one
// warp_affine over the batch when every matrix is affine, else one warp_perspective, and with antialias the
// samples that shrink 2x or more area-reduced first (Compose's antialias=True). Given the same parameters, the
// matrices equal Python's to double rounding (the order of operations is the same; sin/cos/tan and the
// 8x8 solve of a perspective come from different libraries) and the images are Python's (tests/cpp: bit
// for bit on the cases there).
#pragma once
#include <cstdint>

#include "fastaug/export.hpp"
#include "fastaug/image_view.hpp"
#include "fastaug/types.hpp"

FASTAUG_API_BEGIN
namespace fastaug {

// A forward 3x3 matrix, row-major: source pixel (x, y, 1) -> output pixel, in OpenCV's pixel coordinates
// (pixel centres at integers, x right, y down): what warp_perspective takes (warp_affine: the first 6).
struct Matrix3 {
  double m[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};

  // The last row is (0, 0, 1) within 1e-12 (Compose's test for warping with warp_affine).
  bool is_affine() const;
};

// a . b: b applied first.
Matrix3 operator*(const Matrix3& a, const Matrix3& b);

// One sample's chain of geometric transforms over a canvas of (height, width), each step applied after the
// ones before (Python: the transforms of one run of Compose, in order). Each step takes the parameters of its
// Python transform's params dict for this sample; the step then changes the canvas size as the transform does.
// Bad parameters (non-positive sizes, non-finite values) throw fastaug::Error naming the step and argument.
class Geometry {
 public:
  Geometry(int64_t height, int64_t width);

  // Resize((h, w)): cv2.resize's pixel mapping to an h x w canvas.
  Geometry& resize(int64_t h, int64_t w);
  // Resize(shorter): the shorter side to `shorter`, the longer one int(shorter * long / short) (torchvision).
  Geometry& resize_shorter(int64_t shorter);
  // CenterCrop((h, w)): offsets round((H - h) / 2), round((W - w) / 2) (half to even, as NumPy).
  Geometry& center_crop(int64_t h, int64_t w);
  // RandomCrop((h, w)) with its drawn params["top"], params["left"] (and Tiles' tile offsets).
  Geometry& crop(double top, double left, int64_t h, int64_t w);
  // RandomResizedCrop(size=(out_h, out_w)) with params["top"], ["left"], ["height"], ["width"].
  Geometry& resized_crop(double top, double left, double height, double width, int64_t out_h, int64_t out_w);
  // Pad((left, top, right, bottom)).
  Geometry& pad(int64_t left, int64_t top, int64_t right, int64_t bottom);
  // HorizontalFlip / VerticalFlip with params["apply"] (false: no change).
  Geometry& hflip(bool apply = true);
  Geometry& vflip(bool apply = true);
  // RandomRotate90 with params["k"]: k quarter turns counter-clockwise (np.rot90's turn); odd k swaps h and w.
  Geometry& rotate90(int64_t k);
  // Affine / RandomAffine with params "angle" (degrees, counter-clockwise as displayed), "tx", "ty" (pixels),
  // "scale", "shear_x", "shear_y" (degrees), about the canvas centre (fastaug.affine_matrix's formula).
  Geometry& affine(double angle, double tx, double ty, double scale = 1.0, double shear_x = 0.0, double shear_y = 0.0);
  // RandomPerspective with params["offsets"]: 8 values, the inward (x, y) moves of the corners top-left,
  // top-right, bottom-right, bottom-left (cv2.getPerspectiveTransform of the corners to the moved ones).
  Geometry& perspective(const double offsets[8]);
  // Any forward matrix, followed by a canvas of (h, w).
  Geometry& then(const Matrix3& m, int64_t h, int64_t w);

  const Matrix3& matrix() const { return matrix_; }
  int64_t height() const { return h_; }
  int64_t width() const { return w_; }

 private:
  Matrix3 matrix_;
  int64_t h_, w_;
};

// How warp_fused resamples (Compose's run: interpolation, border and fill; antialias as Compose's).
struct WarpOptions {
  Interp interp = Interp::Linear;  // Nearest, Linear or Cubic
  Border border = Border::Constant;
  double fill[4] = {0, 0, 0, 0};  // per channel, for Border::Constant
  // Area-reduce each sample that shrinks 2x or more by the integer part of its factor (only the region its
  // warp reads) before the warp (CPU only; a CUDA batch that needs it is an error: pass false there).
  bool antialias = true;
};

// Every sample n of src through matrices[n] (forward, source -> dst) into dst's sample n (all of dst's H x W):
// Compose's geometric run. The source images may have their own sizes (RaggedView: the images a DataLoader
// gives) or be one dense batch. matrices: src.n of them, host memory. dst: uint8 or float32, src's dtype.
void warp_fused(const RaggedView& src, const ImageView& dst, const Matrix3* matrices, const WarpOptions& options = {},
                Stream stream = {});
void warp_fused(const ImageView& src, const ImageView& dst, const Matrix3* matrices, const WarpOptions& options = {},
                Stream stream = {});

}  // namespace fastaug
FASTAUG_API_END
