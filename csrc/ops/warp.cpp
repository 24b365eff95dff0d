// warp_affine and warp_perspective: validation, inversion of the matrices, and the CPU loop.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "../common/check.hpp"
#include "../common/dispatch.hpp"
#include "../common/parallel.hpp"
#include "backend.hpp"
#include "fastaug/geometry.hpp"
#include "fastaug/runtime.hpp"
#include "warp_avx2.hpp"
#include "warp_pixel.hpp"
#include "warp_planar.hpp"

namespace fastaug {
namespace detail {

namespace {
// Seconds that f takes, the least of `trials` runs.
template <class F>
double least_time(int trials, F&& f) {
  double best = 1e30;
  for (int t = 0; t < trials; ++t) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// Times the float32 planar forward with each pass 2 on a realistic warp (three 64 x 64 planes, bilinear, reflect101,
// rotated by 0.3 rad and zoomed 1.1x about the centre, as the GAN policies' warps): well under a millisecond, once
// per process. The gathers must win by 15%: this small case stays in the L1 cache, where they do best; on a batch
// that does not (64 images of 3 x 32 x 32), an AMD Zen 3 that ties them here runs the loads 1.3-1.8x faster.
bool time_planar_gathers() {
  if (const char* env = std::getenv("FASTAUG_PLANAR_GATHER"); env && *env) {
    if (std::strcmp(env, "hardware") == 0) return true;
    FASTAUG_CHECK(std::strcmp(env, "scalar") == 0,
                  "FASTAUG_PLANAR_GATHER (environment): expected 'hardware' or 'scalar', got '", env, "'");
    return false;
  }
#ifdef FASTAUG_HAVE_PLANAR_GATHER
  if (planar_gather_isa() == 0) return false;
  constexpr int S = 64, C = 3;
  std::vector<float> planes(C * S * S), out(C * S * S);
  for (size_t i = 0; i < planes.size(); ++i) planes[i] = static_cast<float>(i % 97) * 0.01f;
  const SrcImage<float, C, false> src{planes.data(), S, S, S, 1, S * S};
  const float c = std::cos(0.3f) / 1.1f, s = std::sin(0.3f) / 1.1f, h = (S - 1) / 2.f;
  const float m[9] = {c, -s, h - c * h + s * h, s, c, h - s * h - c * h, 0.f, 0.f, 1.f};  // dst -> src
  const float fill[4] = {0.f, 0.f, 0.f, 0.f};
  const auto warp = [&](bool hardware) {
    return [&, hardware] {
      for (int y = 0; y < S; ++y)
        warp_planar_row<Interp::Linear, false, Border::Reflect101, float, C>(src, m, y, fill, out.data() + y * S, S * S,
                                                                             S, hardware);
    };
  };
  double th = 1e30, tl = 1e30;
  for (int round = 0; round < 3; ++round)
    th = std::min(th, least_time(3, warp(true))), tl = std::min(tl, least_time(3, warp(false)));
  return th < 0.85 * tl;
#else
  return false;
#endif
}
}  // namespace

bool planar_hw_gather_faster() {
  static const bool faster = time_planar_gathers();  // a bad FASTAUG_PLANAR_GATHER throws, and the next call retries
  return faster;
}

namespace {

// Inverse of the 3x3 matrix m (row-major) into inv as float, or false if singular / not finite.
bool invert3x3(const double* m, float* inv) {
  const double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5], g = m[6], h = m[7], i = m[8];
  const double det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  if (!std::isfinite(det) || det == 0.0) return false;
  const double r = 1.0 / det;
  const double out[9] = {(e * i - f * h) * r, (c * h - b * i) * r, (b * f - c * e) * r,
                         (f * g - d * i) * r, (a * i - c * g) * r, (c * d - a * f) * r,
                         (d * h - e * g) * r, (b * g - a * h) * r, (a * e - b * d) * r};
  for (int k = 0; k < 9; ++k) {
    inv[k] = static_cast<float>(out[k]);
    if (!std::isfinite(inv[k])) return false;  // nearly singular: the float inverse overflows
  }
  return true;
}

// Forward matrices (6 or 9 doubles per sample) -> inverse 3x3 float matrices.
std::vector<float> inverse_maps(const double* M, int64_t n, bool perspective, const char* name) {
  FASTAUG_CHECK(n == 0 || M != nullptr, name, ": is null");
  std::vector<float> inv(static_cast<size_t>(n) * 9);
  for (int64_t k = 0; k < n; ++k) {
    double m[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
    for (int j = 0; j < (perspective ? 9 : 6); ++j) {
      m[j] = M[k * (perspective ? 9 : 6) + j];
      FASTAUG_CHECK(std::isfinite(m[j]), name, ": matrix of sample ", k, " has a non-finite entry");
    }
    FASTAUG_CHECK(invert3x3(m, &inv[k * 9]), name, ": matrix of sample ", k, " is singular (not invertible)");
  }
  return inv;
}

// Image n of a warp's source as a one-image view: of a batch, or of a ragged list.
ImageView source_image(const ImageView& v, int64_t n) {
  ImageView s = v;
  s.data = static_cast<char*>(v.data) + n * v.sn * (v.dtype == DType::UInt8 ? 1 : 4);
  s.n = 1;
  return s;
}
ImageView source_image(const RaggedView& v, int64_t n) { return v.image(n); }

// Whether every source image has channels-last rows (the Dense loops' compile-time strides).
bool rows_dense(const ImageView& v) { return v.rows_dense(); }
bool rows_dense(const RaggedView& v) {
  for (int64_t n = 0; n < v.n; ++n)
    if (!v.image(n).rows_dense()) return false;
  return true;
}

// Whether every source image has planar rows (sw == 1) that int32 offsets address (the planar path).
bool rows_planar(const ImageView& v) { return v.sw == 1 && planar_addressable(v.h, v.w, v.sh); }
bool rows_planar(const RaggedView& v) {
  for (int64_t n = 0; n < v.n; ++n)
    if (!rows_planar(v.image(n))) return false;
  return true;
}

void check_not_empty(const ImageView& src) {
  FASTAUG_CHECK(src.h > 0 && src.w > 0, "src: cannot warp an empty image of shape ", shape_str(src));
}
void check_not_empty(const RaggedView& src) {
  for (int64_t n = 0; n < src.n; ++n)
    FASTAUG_CHECK(src.images[n].h > 0 && src.images[n].w > 0, "src[", n, "]: cannot warp an empty image of shape ",
                  shape_str(src.image(n)));
}

template <bool Perspective, class Src>
void warp_cpu(const Src& src, const ImageView& dst, const float* minv, Interp interp, Border border,
              const float* fill) {
#ifdef FASTAUG_HAVE_WARP_AVX2
  const bool avx2 = cpu_has_avx2();
#endif
  dispatch_dtype(src.dtype, [&](auto t) {
    using T = decltype(t);
    dispatch_channels(src.c, [&](auto ch) {
      constexpr int C = decltype(ch)::value;
      dispatch_interp(interp, [&](auto ip) {
        constexpr Interp I = decltype(ip)::value;
        auto rows = [&](auto dense) {
          constexpr bool Dense = decltype(dense)::value;
          parallel_rows(dst.n, dst.h, [&](int64_t n, int64_t y) {
            // Everything the pixel loop reads is copied into locals: uint8 stores may alias any memory,
            // so values read through pointers or captures would be reloaded for every pixel.
            const ImageView v = source_image(src, n);
            const SrcImage<T, C, Dense> s{static_cast<const T*>(v.data), v.h, v.w, v.sh, v.sw, v.sc};
            float m[9], f[4];
            for (int k = 0; k < 9; ++k) m[k] = minv[n * 9 + k];
            for (int k = 0; k < 4; ++k) f[k] = fill[k];
            const Border b = border;
            const int64_t osw = dst.sw, osc = dst.sc, w = dst.w;
            T* row = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
#ifdef FASTAUG_HAVE_WARP_AVX2
            // 32-bit gather offsets: the whole source image must be addressable in int32
            if constexpr (std::is_same_v<T, uint8_t> && I != Interp::Cubic && Dense) {
              if (avx2 && v.h * v.sh + v.w * v.c < (int64_t(1) << 31) && v.sh > 0 && osw == C && osc == 1)
                return warp_u8_row_avx2<I, C, Perspective>(s, m, y, b, f, row, w);
            }
#endif
            for (int64_t x = 0; x < w; ++x) warp_pixel<I, Perspective>(s, m, x, y, b, f, row + x * osw, osc);
          });
        };
        // planar rows (an NCHW tensor) into planar rows: coordinates once per pixel for all channels, unless
        // the uint8 AVX2 path for channels-last rows takes them (one channel)
        if (I != Interp::Cubic && dst.sw == 1 && rows_planar(src) && !(std::is_same_v<T, uint8_t> && rows_dense(src))) {
          constexpr Interp IP = I == Interp::Cubic ? Interp::Linear : I;  // (cubic never gets here)
          const bool hw_gather = std::is_same_v<T, float> && planar_hw_gather_faster();
          with_planar_border(border, [&](auto bc) {
            parallel_rows(dst.n, dst.h, [&](int64_t n, int64_t y) {
              const ImageView v = source_image(src, n);
              const SrcImage<T, C, false> s{static_cast<const T*>(v.data), v.h, v.w, v.sh, v.sw, v.sc};
              float m[9], f[4];
              for (int k = 0; k < 9; ++k) m[k] = minv[n * 9 + k];
              for (int k = 0; k < 4; ++k) f[k] = fill[k];
              T* row = static_cast<T*>(dst.data) + n * dst.sn + y * dst.sh;
              warp_planar_row<IP, Perspective, decltype(bc)::value, T, C>(s, m, y, f, row, dst.sc, dst.w, hw_gather);
            });
          });
        } else if (rows_dense(src)) {
          rows(std::true_type{});
        } else {
          rows(std::false_type{});
        }
      });
    });
  });
}

// Validation (every argument, every image, before any memory is touched), inversion of the matrices, routing.
template <bool Perspective, class Src>
void warp(const Src& src, const ImageView& dst, const double* M, Interp interp, Border border, const double fill[4],
          const char* op, [[maybe_unused]] Stream stream) {
  check_pair(src, dst);
  FASTAUG_CHECK(dst.n == src.n && dst.c == src.c && dst.dtype == src.dtype, "dst: expected ", src.n, " images of ",
                src.c, " channels and dtype ", dtype_name(src.dtype), " like src, got shape ", shape_str(dst), " ",
                dtype_name(dst.dtype));
  check_border(border);
  FASTAUG_CHECK(interp == Interp::Nearest || interp == Interp::Linear || interp == Interp::Cubic,
                "interp: expected nearest, linear or cubic, got code ", static_cast<int>(interp));
  const std::vector<float> minv = inverse_maps(M, src.n, Perspective, Perspective ? "H" : "M");
  float fillf[4];
  for (int c = 0; c < 4; ++c) fillf[c] = fill ? static_cast<float>(fill[c]) : 0.f;
  if (dst.empty()) return;
  check_not_empty(src);
  FASTAUG_ROUTE(src, op, warp_cpu<Perspective>(src, dst, minv.data(), interp, border, fillf),
                cuda::warp(src, dst, minv.data(), Perspective, interp, border, fillf, stream));
}

// ---- backward --------------------------------------------------------------------------------------------

// Tasks per sample of the CPU backward: chunks of output rows, from the shapes alone (never the thread count), so
// that the results are the same bits with any number of threads. Each chunk after a sample's first scatters into
// a private image that is then zeroed, written and added (memory traffic the size of the image, per chunk), so
// chunks are few: a batch of 16 samples or more is one task per sample, fewer samples are cut into about 16 tasks
// in all (rows of 32 at least, at most 16 MiB of private images in all).
int64_t backward_chunks(int64_t n, int64_t rows, int64_t image_values) {
  if (n <= 0 || n >= 16 || rows < 64) return 1;
  const int64_t budget = (int64_t(16) << 20) / int64_t(sizeof(float)) / std::max<int64_t>(1, n * image_values);
  return std::max<int64_t>(1, std::min({(16 + n - 1) / n, rows / 32, 1 + budget}));
}

// The backward on the CPU. Race-free and deterministic: task (n, k) takes chunk k of sample n's output rows and
// walks them in order, scattering into grad_src's image n (k = 0, which zeroes it first) or into its own private
// image (k > 0), and summing its matrix gradient in double; no two tasks write the same memory. Then the private
// images are added to grad_src in chunk order (row-parallel: each value's sum has one fixed order) and the
// chunks' matrix gradients are summed in chunk order.
template <Interp I, bool Perspective, int C, bool Dense>
void warp_backward_cpu(const ImageView& grad, const ImageView* src, const ImageView* grad_src, const float* minv,
                       Border border, const float* fill, double* grad_inv) {
  const ImageView& ref = src ? *src : *grad_src;
  const int64_t H = ref.h, W = ref.w, N = grad.n, image_values = H * W * C;
  const int64_t chunks = backward_chunks(N, grad.h, image_values), rows = (grad.h + chunks - 1) / chunks;
  std::unique_ptr<float[]> priv;
  if (grad_src && chunks > 1) priv = scratch<float>(static_cast<size_t>(N * (chunks - 1) * image_values));
  std::vector<double> partial(grad_inv ? static_cast<size_t>(N * chunks * 9) : 0);
  // The image gradient alone, planar rows in and out (NCHW tensors): the planar path, whose private images are
  // planar too (H x W planes). The same adds into every value, in the same order.
  const bool planar = grad_src && !grad_inv && grad.sw == 1 && grad_src->sw == 1 &&
                      planar_addressable(H, W, grad_src->sh) && planar_addressable(H, W, W);
  parallel_for(N * chunks, [&](int64_t t) {
    const int64_t n = t / chunks, k = t % chunks, y0 = k * rows, y1 = std::min(grad.h, y0 + rows);
    if (planar) {
      float* gp = k == 0 ? static_cast<float*>(grad_src->data) + n * grad_src->sn
                         : priv.get() + (n * (chunks - 1) + k - 1) * image_values;
      const int64_t psh = k == 0 ? grad_src->sh : W, psc = k == 0 ? grad_src->sc : H * W;
      for (int c = 0; c < C; ++c)
        for (int64_t y = 0; y < H; ++y) std::fill(gp + c * psc + y * psh, gp + c * psc + y * psh + W, 0.f);
      float m[9];
      for (int j = 0; j < 9; ++j) m[j] = minv[n * 9 + j];
      with_planar_border(border, [&](auto bc) {
        warp_backward_planar_rows<I, Perspective, decltype(bc)::value, C>(
            static_cast<const float*>(grad.data) + n * grad.sn, grad.sh, grad.sc, grad.w, y0, y1, gp, H, W, psh, psc,
            m);
      });
      return;
    }
    GradImage gi{nullptr, 0, 0, 0};
    if (grad_src && k == 0) {
      gi = {static_cast<float*>(grad_src->data) + n * grad_src->sn, grad_src->sh, grad_src->sw, grad_src->sc};
      for (int64_t y = 0; y < H; ++y)
        for (int64_t x = 0; x < W; ++x)
          for (int c = 0; c < C; ++c) gi.data[y * gi.sh + x * gi.sw + c * gi.sc] = 0.f;
    } else if (grad_src) {
      gi = {priv.get() + (n * (chunks - 1) + k - 1) * image_values, W * C, C, 1};
      std::fill(gi.data, gi.data + image_values, 0.f);
    }
    SrcImage<float, C, Dense> s{nullptr, H, W, 0, 0, 0};
    if (src) s = {static_cast<const float*>(src->data) + n * src->sn, H, W, src->sh, src->sw, src->sc};
    const SrcImage<float, C, Dense>* sp = src && grad_inv ? &s : nullptr;
    float m[9], f[4];
    for (int j = 0; j < 9; ++j) m[j] = minv[n * 9 + j];
    for (int c = 0; c < 4; ++c) f[c] = fill[c];
    double dm[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    const auto add = [](float* q, float v) { *q += v; };
    for (int64_t y = y0; y < y1; ++y) {
      const float* row = static_cast<const float*>(grad.data) + n * grad.sn + y * grad.sh;
      for (int64_t x = 0; x < grad.w; ++x) {
        float g[C];
        for (int c = 0; c < C; ++c) g[c] = row[x * grad.sw + c * grad.sc];
        warp_backward_pixel<I, Perspective, C, Dense>(sp, H, W, m, x, y, border, f, g, gi, add, dm);
      }
    }
    if (grad_inv)
      for (int j = 0; j < 9; ++j) partial[t * 9 + j] = dm[j];
  });
  if (grad_src && chunks > 1) {
    parallel_rows(N, H, [&](int64_t n, int64_t y) {
      float* out = static_cast<float*>(grad_src->data) + n * grad_src->sn + y * grad_src->sh;
      for (int64_t k = 1; k < chunks; ++k) {
        const float* p = priv.get() + (n * (chunks - 1) + k - 1) * image_values;
        if (planar) {
          for (int c = 0; c < C; ++c)
            for (int64_t x = 0; x < W; ++x) out[x + c * grad_src->sc] += p[c * H * W + y * W + x];
        } else {
          for (int64_t x = 0; x < W; ++x)
            for (int c = 0; c < C; ++c) out[x * grad_src->sw + c * grad_src->sc] += p[y * W * C + x * C + c];
        }
      }
    });
  }
  if (grad_inv) {
    for (int64_t n = 0; n < N; ++n)
      for (int j = 0; j < 9; ++j) {
        double sum = 0.0;
        for (int64_t k = 0; k < chunks; ++k) sum += partial[(n * chunks + k) * 9 + j];
        grad_inv[n * 9 + j] = sum;
      }
  }
}

template <bool Perspective>
void warp_backward_cpu(const ImageView& grad, const ImageView* src, const ImageView* grad_src, const float* minv,
                       Interp interp, Border border, const float* fill, double* grad_inv) {
  const auto run = [&](auto ip) {
    constexpr Interp I = decltype(ip)::value;
    dispatch_channels(grad.c, [&](auto ch) {
      constexpr int C = decltype(ch)::value;
      if (src && src->rows_dense())
        warp_backward_cpu<I, Perspective, C, true>(grad, src, grad_src, minv, border, fill, grad_inv);
      else
        warp_backward_cpu<I, Perspective, C, false>(grad, src, grad_src, minv, border, fill, grad_inv);
    });
  };
  if (interp == Interp::Nearest)
    run(std::integral_constant<Interp, Interp::Nearest>{});
  else
    run(std::integral_constant<Interp, Interp::Linear>{});
}

// Validation of the backward (every argument, before any memory is touched), inversion of the matrices, routing.
template <bool Perspective>
void warp_backward(const ImageView& grad, const ImageView* src, const ImageView* grad_src, const double* M,
                   Interp interp, Border border, const double fill[4], double* grad_inv, const char* op,
                   [[maybe_unused]] Stream stream) {
  check_image(grad, "grad");
  check_dtype(grad, "grad", DType::Float32);
  FASTAUG_CHECK(grad_src || grad_inv, op, ": nothing to compute: neither grad_src nor grad_inv was given");
  FASTAUG_CHECK(src || !grad_inv, "src: the forward's input is needed for the matrix gradient (grad_inv), got null");
  const auto check_like = [&](const ImageView& v, const char* name) {
    check_image(v, name);
    check_dtype(v, name, DType::Float32);
    FASTAUG_CHECK(v.device == grad.device && v.device_id == grad.device_id, name,
                  ": must be on the same device as grad");
    FASTAUG_CHECK(v.n == grad.n && v.c == grad.c, name, ": expected ", grad.n, " images of ", grad.c,
                  " channels like grad, got shape ", shape_str(v));
  };
  if (src) check_like(*src, "src");
  if (grad_src) check_like(*grad_src, "grad_src");
  if (src && grad_src) check_shape(*grad_src, "grad_src", src->n, src->h, src->w, src->c);
  check_border(border);
  FASTAUG_CHECK(interp == Interp::Nearest || interp == Interp::Linear,
                "interp: expected nearest or linear (the backward of a warp has no cubic), got code ",
                static_cast<int>(interp));
  const std::vector<float> minv = inverse_maps(M, grad.n, Perspective, Perspective ? "H" : "M");
  float fillf[4];
  for (int c = 0; c < 4; ++c) fillf[c] = fill ? static_cast<float>(fill[c]) : 0.f;
  const ImageView& ref = src ? *src : *grad_src;
  if (grad.n == 0) return;
  FASTAUG_CHECK(ref.h > 0 && ref.w > 0, src ? "src" : "grad_src", ": cannot be an empty image, got shape ",
                shape_str(ref));
  FASTAUG_ROUTE(
      grad, op, warp_backward_cpu<Perspective>(grad, src, grad_src, minv.data(), interp, border, fillf, grad_inv),
      cuda::warp_backward(grad, src, grad_src, minv.data(), Perspective, interp, border, fillf, grad_inv, stream));
}

}  // namespace
}  // namespace detail

// The public front doors, for a batch (ImageView) and for a ragged batch (RaggedView).
#define FASTAUG_WARP_FRONT_DOORS(Source)                                                                        \
  void warp_affine(const Source& src, const ImageView& dst, const double* M, Interp interp, Border border,      \
                   const double fill[4], Stream stream) {                                                       \
    detail::warp<false>(src, dst, M, interp, border, fill, "warp_affine", stream);                              \
  }                                                                                                             \
  void warp_perspective(const Source& src, const ImageView& dst, const double* H, Interp interp, Border border, \
                        const double fill[4], Stream stream) {                                                  \
    detail::warp<true>(src, dst, H, interp, border, fill, "warp_perspective", stream);                          \
  }

FASTAUG_WARP_FRONT_DOORS(ImageView)
FASTAUG_WARP_FRONT_DOORS(RaggedView)
#undef FASTAUG_WARP_FRONT_DOORS

void warp_affine_backward(const ImageView& grad, const ImageView* src, const ImageView* grad_src, const double* M,
                          Interp interp, Border border, const double fill[4], double* grad_inv, Stream stream) {
  detail::warp_backward<false>(grad, src, grad_src, M, interp, border, fill, grad_inv, "warp_affine_backward", stream);
}
void warp_perspective_backward(const ImageView& grad, const ImageView* src, const ImageView* grad_src, const double* H,
                               Interp interp, Border border, const double fill[4], double* grad_inv, Stream stream) {
  detail::warp_backward<true>(grad, src, grad_src, H, interp, border, fill, grad_inv, "warp_perspective_backward",
                              stream);
}

const char* planar_gather_mode() { return detail::planar_hw_gather_faster() ? "hardware" : "scalar"; }

}  // namespace fastaug
