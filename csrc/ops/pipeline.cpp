// The fused-geometry pipeline (fastaug/pipeline.hpp): each geometric transform's forward matrix, computed in
// the order of operations of its Python counterpart (fastaug/transforms/geometric.py), and Compose's one warp
// per run with its antialiasing (fastaug/transforms/compose.py: reduction_factors, _read_regions, _warp_run).
#include "fastaug/pipeline.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../common/check.hpp"
#include "fastaug/geometry.hpp"

namespace fastaug {
namespace {

constexpr double kPi = 3.14159265358979323846;

Matrix3 make(double a, double b, double c, double d, double e, double f, double g = 0, double h = 0, double i = 1) {
  Matrix3 m;
  const double v[9] = {a, b, c, d, e, f, g, h, i};
  std::copy(v, v + 9, m.m);
  return m;
}

Matrix3 translation(double tx, double ty) { return make(1, 0, tx, 0, 1, ty); }

// Scales a canvas as cv2.resize maps pixels: x' = (x + 0.5) * sx - 0.5.
Matrix3 scaling(double sx, double sy) { return make(sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5); }

// step: the Geometry method ("" for the constructor), named in the message as Geometry.<step>.
void check_size(const char* step, const char* what, int64_t h, int64_t w) {
  FASTAUG_CHECK(h > 0 && w > 0, "Geometry", *step ? "." : "", step, ": ", what,
                ": expected a positive (height, width), got (", h, ", ", w, ")");
}

void check_finite(const char* step, const char* what, double v) {
  FASTAUG_CHECK(std::isfinite(v), "Geometry.", step, ": ", what, ": expected a finite number, got ", v);
}

// The inverse of a 3x3 matrix by its adjugate; false when it is singular or not finite.
bool invert(const Matrix3& a, Matrix3& out) {
  const double* m = a.m;
  const double c0 = m[4] * m[8] - m[5] * m[7], c1 = m[5] * m[6] - m[3] * m[8], c2 = m[3] * m[7] - m[4] * m[6];
  const double det = m[0] * c0 + m[1] * c1 + m[2] * c2;
  if (!std::isfinite(det) || det == 0) return false;
  out = make(c0, m[2] * m[7] - m[1] * m[8], m[1] * m[5] - m[2] * m[4], c1, m[0] * m[8] - m[2] * m[6],
             m[2] * m[3] - m[0] * m[5], c2, m[1] * m[6] - m[0] * m[7], m[0] * m[4] - m[1] * m[3]);
  for (double& v : out.m) v /= det;
  return true;
}

// The 8 coefficients of the perspective taking src[k] to dst[k] (4 points, x then y), as
// cv2.getPerspectiveTransform: the 8x8 system solved by Gaussian elimination with partial pivoting.
bool homography(const double src[8], const double dst[8], Matrix3& out) {
  double a[8][9] = {};
  for (int k = 0; k < 4; ++k) {
    const double x = src[2 * k], y = src[2 * k + 1], u = dst[2 * k], v = dst[2 * k + 1];
    double* r = a[k];
    r[0] = x, r[1] = y, r[2] = 1, r[6] = -x * u, r[7] = -y * u, r[8] = u;
    double* s = a[k + 4];
    s[3] = x, s[4] = y, s[5] = 1, s[6] = -x * v, s[7] = -y * v, s[8] = v;
  }
  double scale = 0;  // a pivot this much smaller than the system's entries: degenerate (rounding, not signal)
  for (const auto& row : a)
    for (int c = 0; c < 8; ++c) scale = std::max(scale, std::fabs(row[c]));
  for (int col = 0; col < 8; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 8; ++r)
      if (std::fabs(a[r][col]) > std::fabs(a[pivot][col])) pivot = r;
    if (!(std::fabs(a[pivot][col]) > 1e-12 * scale)) return false;
    std::swap(a[col], a[pivot]);
    for (int r = col + 1; r < 8; ++r) {
      const double f = a[r][col] / a[col][col];
      for (int c = col; c < 9; ++c) a[r][c] -= f * a[col][c];
    }
  }
  double coef[8];
  for (int r = 7; r >= 0; --r) {
    double s = a[r][8];
    for (int c = r + 1; c < 8; ++c) s -= a[r][c] * coef[c];
    coef[r] = s / a[r][r];
  }
  out = make(coef[0], coef[1], coef[2], coef[3], coef[4], coef[5], coef[6], coef[7], 1);
  Matrix3 inverse;
  return invert(out, inverse);
}

}  // namespace

bool Matrix3::is_affine() const {
  return std::fabs(m[6]) <= 1e-12 && std::fabs(m[7]) <= 1e-12 && std::fabs(m[8] - 1) <= 1e-12;
}

Matrix3 operator*(const Matrix3& a, const Matrix3& b) {
  Matrix3 c;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      c.m[3 * i + j] = a.m[3 * i] * b.m[j] + a.m[3 * i + 1] * b.m[3 + j] + a.m[3 * i + 2] * b.m[6 + j];
  return c;
}

Geometry::Geometry(int64_t height, int64_t width) : h_(height), w_(width) {
  check_size("", "(height, width)", height, width);
}

Geometry& Geometry::then(const Matrix3& m, int64_t h, int64_t w) {
  check_size("then", "(h, w)", h, w);
  for (double v : m.m) check_finite("then", "m", v);
  matrix_ = m * matrix_;
  h_ = h, w_ = w;
  return *this;
}

Geometry& Geometry::resize(int64_t h, int64_t w) {
  check_size("resize", "(h, w)", h, w);
  return then(
      scaling(static_cast<double>(w) / static_cast<double>(w_), static_cast<double>(h) / static_cast<double>(h_)), h,
      w);
}

Geometry& Geometry::resize_shorter(int64_t shorter) {
  FASTAUG_CHECK(shorter > 0, "Geometry.resize_shorter: shorter: expected a positive size, got ", shorter);
  const int64_t lo = std::min(h_, w_), hi = std::max(h_, w_);
  const auto longer = static_cast<int64_t>(static_cast<double>(shorter * hi) / static_cast<double>(lo));
  return w_ >= h_ ? resize(shorter, longer) : resize(longer, shorter);
}

Geometry& Geometry::center_crop(int64_t h, int64_t w) {
  check_size("center_crop", "(h, w)", h, w);
  const double top = std::nearbyint(static_cast<double>(h_ - h) / 2.0);  // ties to even, as np.round
  const double left = std::nearbyint(static_cast<double>(w_ - w) / 2.0);
  return then(translation(-left, -top), h, w);
}

Geometry& Geometry::crop(double top, double left, int64_t h, int64_t w) {
  check_finite("crop", "top", top);
  check_finite("crop", "left", left);
  check_size("crop", "(h, w)", h, w);
  return then(translation(-left, -top), h, w);
}

Geometry& Geometry::resized_crop(double top, double left, double height, double width, int64_t out_h, int64_t out_w) {
  check_finite("resized_crop", "top", top);
  check_finite("resized_crop", "left", left);
  FASTAUG_CHECK(std::isfinite(height) && std::isfinite(width) && height > 0 && width > 0,
                "Geometry.resized_crop: (height, width): expected a positive crop size, got (", height, ", ", width,
                ")");
  check_size("resized_crop", "(out_h, out_w)", out_h, out_w);
  const Matrix3 scale = scaling(static_cast<double>(out_w) / width, static_cast<double>(out_h) / height);
  return then(scale * translation(-left, -top), out_h, out_w);
}

Geometry& Geometry::pad(int64_t left, int64_t top, int64_t right, int64_t bottom) {
  FASTAUG_CHECK(left >= 0 && top >= 0 && right >= 0 && bottom >= 0,
                "Geometry.pad: padding: expected 4 non-negative sizes (left, top, right, bottom), got (", left, ", ",
                top, ", ", right, ", ", bottom, ")");
  return then(translation(static_cast<double>(left), static_cast<double>(top)), h_ + top + bottom, w_ + left + right);
}

Geometry& Geometry::hflip(bool apply) {
  if (!apply) return then(Matrix3{}, h_, w_);
  return then(make(-1, 0, static_cast<double>(w_) - 1, 0, 1, 0), h_, w_);
}

Geometry& Geometry::vflip(bool apply) {
  if (!apply) return then(Matrix3{}, h_, w_);
  return then(make(1, 0, 0, 0, -1, static_cast<double>(h_) - 1), h_, w_);
}

Geometry& Geometry::rotate90(int64_t k) {
  k = ((k % 4) + 4) % 4;
  const double w = static_cast<double>(w_) - 1, h = static_cast<double>(h_) - 1;
  // x' = a x + b y + c, y' = d x + e y + f: np.rot90's turn, y down (RandomRotate90.matrices)
  static const double a[4] = {1, 0, -1, 0}, b[4] = {0, 1, 0, -1}, d[4] = {0, -1, 0, 1}, e[4] = {1, 0, -1, 0};
  const double c[4] = {0, 0, w, h}, f[4] = {0, w, h, 0};
  const bool odd = k % 2 == 1;
  return then(make(a[k], b[k], c[k], d[k], e[k], f[k]), odd ? w_ : h_, odd ? h_ : w_);
}

Geometry& Geometry::affine(double angle, double tx, double ty, double scale, double shear_x, double shear_y) {
  const char* names[6] = {"angle", "tx", "ty", "scale", "shear_x", "shear_y"};
  const double values[6] = {angle, tx, ty, scale, shear_x, shear_y};
  for (int i = 0; i < 6; ++i) check_finite("affine", names[i], values[i]);
  // fastaug.affine_matrix: T(centre + t) . R(angle) . Sh(shear) . S(scale) . T(-centre)
  const double cx = (static_cast<double>(w_) - 1) / 2.0, cy = (static_cast<double>(h_) - 1) / 2.0;
  const double rad = angle * (kPi / 180.0), sx = std::tan(shear_x * (kPi / 180.0)),
               sy = std::tan(shear_y * (kPi / 180.0));
  const double cs = std::cos(rad), sn = std::sin(rad);
  const double rot[2][2] = {{cs, sn}, {-sn, cs}}, sh[2][2] = {{1, sx}, {sy, 1}};
  double lin[2][2];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) lin[i][j] = (rot[i][0] * sh[0][j] + rot[i][1] * sh[1][j]) * scale;
  const double ox = (cx + tx) - (lin[0][0] * cx + lin[0][1] * cy);
  const double oy = (cy + ty) - (lin[1][0] * cx + lin[1][1] * cy);
  return then(make(lin[0][0], lin[0][1], ox, lin[1][0], lin[1][1], oy), h_, w_);
}

Geometry& Geometry::perspective(const double offsets[8]) {
  FASTAUG_CHECK(offsets != nullptr, "Geometry.perspective: offsets: expected 8 values, got a null pointer");
  for (int i = 0; i < 8; ++i) check_finite("perspective", "offsets", offsets[i]);
  const double w = static_cast<double>(w_) - 1, h = static_cast<double>(h_) - 1;
  const double corners[8] = {0, 0, w, 0, w, h, 0, h};
  const double inward[8] = {1, 1, -1, 1, -1, -1, 1, -1};
  double moved[8];
  for (int i = 0; i < 8; ++i) moved[i] = corners[i] + offsets[i] * inward[i];
  Matrix3 m;
  FASTAUG_CHECK(homography(corners, moved, m),
                "Geometry.perspective: offsets: the moved corners make a degenerate quadrilateral (no perspective "
                "maps the canvas onto it)");
  return then(m, h_, w_);
}

namespace {

struct Size2 {
  int64_t h, w;
};

// Compose's reduction_factors: per axis (y, x), the integer part of how far the source moves per output pixel
// at the output's centre (the largest direction), at least 1, at most the image's size.
Size2 reduction_factors(const Matrix3& m, int64_t out_h, int64_t out_w, int64_t h, int64_t w) {
  Matrix3 inv;
  if (!invert(m, inv)) return {1, 1};
  const double* v = inv.m;
  const double px = (static_cast<double>(out_w) - 1) / 2.0, py = (static_cast<double>(out_h) - 1) / 2.0;
  const double q[3] = {v[0] * px + v[1] * py + v[2], v[3] * px + v[4] * py + v[5], v[6] * px + v[7] * py + v[8]};
  double step[2];
  for (int i = 0; i < 2; ++i) {
    const double j0 = (v[3 * i] * q[2] - q[i] * v[6]) / (q[2] * q[2]);
    const double j1 = (v[3 * i + 1] * q[2] - q[i] * v[7]) / (q[2] * q[2]);
    step[i] = std::sqrt(j0 * j0 + j1 * j1);
  }
  auto factor = [](double s, int64_t size) {
    const double f = std::floor(s + 1e-6);
    const int64_t k = std::isfinite(f) && f > 1 ? static_cast<int64_t>(std::min(f, 1e9)) : 1;
    return std::min(k, size);
  };
  return {factor(step[1], h), factor(step[0], w)};
}

// Compose's _read_regions for one sample: the part of its source (y0, x0, y1, x1) that the warp reads, aligned
// outward to multiples of the factors and clipped to the image; the whole image where the corners do not map in
// front (perspective) or the region is less than one reduced pixel.
void read_region(const Matrix3& m, int64_t h, int64_t w, Size2 k, int64_t out_h, int64_t out_w, const WarpOptions& o,
                 int64_t box[4]) {
  box[0] = 0, box[1] = 0, box[2] = h, box[3] = w;
  Matrix3 inv;
  if (!invert(m, inv)) return;
  const double* v = inv.m;
  const double ox[4] = {0, static_cast<double>(out_w) - 1, 0, static_cast<double>(out_w) - 1};
  const double oy[4] = {0, 0, static_cast<double>(out_h) - 1, static_cast<double>(out_h) - 1};
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};  // (y, x)
  for (int c = 0; c < 4; ++c) {
    const double z = v[6] * ox[c] + v[7] * oy[c] + v[8];
    const double x = (v[0] * ox[c] + v[1] * oy[c] + v[2]) / z, y = (v[3] * ox[c] + v[4] * oy[c] + v[5]) / z;
    if (!(z > 1e-12) || !std::isfinite(x) || !std::isfinite(y)) return;
    lo[0] = std::min(lo[0], y), hi[0] = std::max(hi[0], y);
    lo[1] = std::min(lo[1], x), hi[1] = std::max(hi[1], x);
  }
  const double window = o.interp == Interp::Cubic ? 3.0 : 2.0;  // reduced pixels either side: taps plus one
  const double factor[2] = {static_cast<double>(k.h), static_cast<double>(k.w)};
  const double extent[2] = {static_cast<double>(h), static_cast<double>(w)};
  int64_t out[4];
  for (int a = 0; a < 2; ++a) {
    const double kk = factor[a], e = extent[a];
    double l = lo[a] - window * kk, u = hi[a] + 1.0 + window * kk;
    if (o.border == Border::Reflect || o.border == Border::Reflect101) {
      const bool over_lo = l<0, over_hi = u> e;
      if (over_lo) u = std::max(u, -l + 1.0);
      if (over_hi) l = std::min(l, 2.0 * e - u - 1.0);
      if (over_lo) l = 0.0;
      if (over_hi) u = e;
      if (l < 0 || u > e) l = 0.0, u = e;
    } else if (o.border == Border::Wrap && (l < 0 || u > e)) {
      l = 0.0, u = e;
    }
    l = std::clamp(std::floor(std::clamp(l, 0.0, e) / kk) * kk, 0.0, e);
    u = std::clamp(std::ceil(std::clamp(u, 0.0, e) / kk) * kk, 0.0, e);
    out[a] = static_cast<int64_t>(l), out[a + 2] = static_cast<int64_t>(u);
  }
  if (out[2] - out[0] < k.h || out[3] - out[1] < k.w) return;
  box[0] = out[0], box[1] = out[1], box[2] = out[2], box[3] = out[3];
}

// Maps a reduced image's pixel coordinates to the full image's (cv2.resize's pixel mapping).
Matrix3 scale_back(double sy, double sx) { return make(sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5); }

// The run's one warp: warp_affine when every matrix is affine, else warp_perspective (Compose's _warp).
template <class View>
void warp_once(const View& src, const ImageView& dst, const std::vector<Matrix3>& mats, const WarpOptions& o,
               Stream stream) {
  const bool affine = std::all_of(mats.begin(), mats.end(), [](const Matrix3& m) { return m.is_affine(); });
  std::vector<double> flat;
  for (const Matrix3& m : mats) flat.insert(flat.end(), m.m, m.m + (affine ? 6 : 9));
  if (affine)
    warp_affine(src, dst, flat.data(), o.interp, o.border, o.fill, stream);
  else
    warp_perspective(src, dst, flat.data(), o.interp, o.border, o.fill, stream);
}

// The factors by which antialiasing area-reduces a sample of h x w before its warp ({1, 1}: not at all).
Size2 antialias_factors(const Matrix3& m, int64_t h, int64_t w, const ImageView& dst, const WarpOptions& o) {
  if (!o.antialias || o.interp == Interp::Nearest || h < 1 || w < 1) return {1, 1};
  return reduction_factors(m, dst.h, dst.w, h, w);
}

void check_fused(int64_t n, const ImageView& dst, const Matrix3* matrices, const WarpOptions& o) {
  FASTAUG_CHECK(dst.n == n, "dst: expected ", n, " images (one per source image), got ", dst.n);
  FASTAUG_CHECK(n == 0 || matrices != nullptr, "matrices: expected ", n, " matrices, got a null pointer");
  FASTAUG_CHECK(o.interp != Interp::Area, "options.interp: expected Nearest, Linear or Cubic, got Area");
  for (int64_t i = 0; i < n; ++i)
    for (double v : matrices[i].m)
      FASTAUG_CHECK(std::isfinite(v), "matrices[", i, "]: expected finite values, got ", v);
}

}  // namespace

void warp_fused(const RaggedView& src, const ImageView& dst, const Matrix3* matrices, const WarpOptions& options,
                Stream stream) {
  FASTAUG_CHECK(src.n >= 0 && (src.n == 0 || src.images != nullptr), "src: expected ", src.n,
                " images, got a null image list");
  check_fused(src.n, dst, matrices, options);
  std::vector<Matrix3> mats(matrices, matrices + src.n);
  std::vector<Size2> factors(src.n, Size2{1, 1});
  bool any = false;
  for (int64_t i = 0; i < src.n; ++i) {
    factors[i] = antialias_factors(mats[i], src.images[i].h, src.images[i].w, dst, options);
    any = any || factors[i].h > 1 || factors[i].w > 1;
  }
  if (!any) return warp_once(src, dst, mats, options, stream);
  FASTAUG_CHECK(src.device == Device::CPU,
                "options.antialias: area-reducing the samples that shrink 2x or more runs on the CPU only; for a "
                "CUDA batch pass antialias = false");
  // The shrinking samples: each region area-reduced by its factors (one ragged resize), the matrix adjusted by
  // the region's offset and the reduction's scale, then every sample in the one warp.
  std::vector<int64_t> shrink;
  std::vector<RaggedImage> regions, reduced, sources(src.images, src.images + src.n);
  std::vector<int64_t> boxes;
  size_t bytes = 0;
  for (int64_t i = 0; i < src.n; ++i) {
    if (factors[i].h == 1 && factors[i].w == 1) continue;
    const RaggedImage& r = src.images[i];
    int64_t box[4];
    read_region(mats[i], r.h, r.w, factors[i], dst.h, dst.w, options, box);
    RaggedImage region = r;
    region.data = static_cast<char*>(r.data) + (box[0] * r.sh + box[1] * r.sw) * dtype_size(src.dtype);
    region.h = box[2] - box[0], region.w = box[3] - box[1];
    RaggedImage small;
    small.h = std::max<int64_t>(region.h / factors[i].h, 1), small.w = std::max<int64_t>(region.w / factors[i].w, 1);
    small.sc = 1, small.sw = src.c, small.sh = small.w * src.c;
    bytes += static_cast<size_t>(small.h * small.w * src.c * dtype_size(src.dtype));
    shrink.push_back(i), regions.push_back(region), reduced.push_back(small);
    boxes.insert(boxes.end(), box, box + 4);
  }
  std::vector<unsigned char> storage(bytes);
  size_t at = 0;
  for (RaggedImage& small : reduced) {
    small.data = storage.data() + at;
    at += static_cast<size_t>(small.h * small.w * src.c * dtype_size(src.dtype));
  }
  RaggedView from = src, to = src;
  from.images = regions.data(), from.n = static_cast<int64_t>(regions.size());
  to.images = reduced.data(), to.n = from.n;
  resize(from, to, Interp::Area, stream);
  for (size_t j = 0; j < shrink.size(); ++j) {
    const int64_t i = shrink[j];
    const double h = static_cast<double>(regions[j].h), w = static_cast<double>(regions[j].w);
    const Matrix3 shift = translation(static_cast<double>(boxes[4 * j + 1]), static_cast<double>(boxes[4 * j]));
    mats[i] =
        mats[i] * shift * scale_back(h / static_cast<double>(reduced[j].h), w / static_cast<double>(reduced[j].w));
    sources[i] = reduced[j];
  }
  RaggedView all = src;
  all.images = sources.data();
  warp_once(all, dst, mats, options, stream);
}

void warp_fused(const ImageView& src, const ImageView& dst, const Matrix3* matrices, const WarpOptions& options,
                Stream stream) {
  FASTAUG_CHECK(src.n >= 0 && src.h >= 0 && src.w >= 0, "src: negative extent in shape ", detail::shape_str(src));
  check_fused(src.n, dst, matrices, options);
  bool any = false;
  for (int64_t i = 0; i < src.n && !any; ++i) {
    const Size2 k = antialias_factors(matrices[i], src.h, src.w, dst, options);
    any = k.h > 1 || k.w > 1;
  }
  if (!any) return warp_once(src, dst, std::vector<Matrix3>(matrices, matrices + src.n), options, stream);
  // some samples shrink: the ragged path reduces them and warps every sample of the batch in one call
  std::vector<RaggedImage> images(static_cast<size_t>(src.n));
  for (int64_t i = 0; i < src.n; ++i) {
    RaggedImage& r = images[i];
    r.data = static_cast<char*>(src.data) + i * src.sn * dtype_size(src.dtype);
    r.h = src.h, r.w = src.w, r.sh = src.sh, r.sw = src.sw, r.sc = src.sc;
  }
  RaggedView ragged;
  ragged.images = images.data(), ragged.n = src.n, ragged.c = src.c;
  ragged.dtype = src.dtype, ragged.device = src.device, ragged.device_id = src.device_id;
  warp_fused(ragged, dst, matrices, options, stream);
}

}  // namespace fastaug
