// fastaug._C: a thin pybind11 layer over the C++ API. Each binding turns DLPack capsules into views,
// checks the size of the parameter arrays, releases the GIL and calls fastaug::<op>. No algorithm here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>

#include "../common/check.hpp"
#include "capsule.hpp"
#include "fastaug/fastaug.hpp"

namespace py = pybind11;
using fastaug::python::Consumed;

namespace {

template <class T>
using Params = py::array_t<T, py::array::c_style | py::array::forcecast>;

// Pointer to a parameter array of exactly `count` elements.
template <class T>
const T* params(const Params<T>& a, int64_t count, const char* name) {
  FASTAUG_CHECK(a.size() == count, name, ": expected ", count, " values, got ", a.size());
  return a.data();
}

using Fill = std::array<double, 4>;

// Runs fn(src_view, dst_view) on the consumed capsules with the GIL released.
template <class Fn>
void run(py::handle src, py::handle dst, Fn&& fn) {
  Consumed s(src, "img", false), d(dst, "out", true);
  py::gil_scoped_release release;
  fn(s.view(), d.view());
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  using namespace fastaug;
  m.doc() = "fastaug native kernels (C++/OpenMP). Use the fastaug package, not this module.";
#ifdef FASTAUG_WITH_CUDA
  m.attr("with_cuda") = true;
#else
  m.attr("with_cuda") = false;
#endif
  m.def("set_num_threads", &set_num_threads);
  m.def("get_num_threads", &get_num_threads);

  m.def("warp_affine", [](py::handle s, py::handle d, Params<double> M, int interp, int border, Fill fill) {
    run(s, d, [&](const ImageView& a, const ImageView& b) {
      warp_affine(a, b, params(M, a.n * 6, "M"), Interp(interp), Border(border), fill.data());
    });
  });
  m.def("warp_perspective", [](py::handle s, py::handle d, Params<double> H, int interp, int border, Fill fill) {
    run(s, d, [&](const ImageView& a, const ImageView& b) {
      warp_perspective(a, b, params(H, a.n * 9, "H"), Interp(interp), Border(border), fill.data());
    });
  });
  m.def("resize", [](py::handle s, py::handle d, int interp) {
    run(s, d, [&](const ImageView& a, const ImageView& b) { resize(a, b, Interp(interp)); });
  });
  m.def("flip", [](py::handle s, py::handle d, Params<int32_t> codes) {
    run(s, d, [&](const ImageView& a, const ImageView& b) { flip(a, b, params(codes, a.n, "axis")); });
  });
  m.def("rotate90", [](py::handle s, py::handle d, Params<int32_t> k) {
    run(s, d, [&](const ImageView& a, const ImageView& b) { rotate90(a, b, params(k, a.n, "k")); });
  });
  m.def("crop", [](py::handle s, py::handle d, Params<int64_t> top_left) {
    run(s, d, [&](const ImageView& a, const ImageView& b) { crop(a, b, params(top_left, a.n * 2, "boxes")); });
  });
  m.def("tiles", [](py::handle s, py::handle d, int64_t sy, int64_t sx) {
    run(s, d, [&](const ImageView& a, const ImageView& b) { tiles(a, b, sy, sx); });
  });
  m.def("filter2d", [](py::handle s, py::handle d, Params<float> k, int kh, int kw, int border, Fill fill) {
    run(s, d, [&](const ImageView& a, const ImageView& b) {
      filter2d(a, b, params(k, a.n * kh * kw, "kernel"), kh, kw, Border(border), fill.data());
    });
  });
  m.def("sep_filter2d", [](py::handle s, py::handle d, Params<float> kx, int kw, Params<float> ky, int kh,
                           int border, Fill fill, double delta) {
    run(s, d, [&](const ImageView& a, const ImageView& b) {
      sep_filter2d(a, b, params(kx, a.n * kw, "kx"), kw, params(ky, a.n * kh, "ky"), kh, Border(border),
                   fill.data(), delta);
    });
  });
  m.def("gaussian_blur", [](py::handle s, py::handle d, int kh, int kw, Params<double> sigma, int border) {
    run(s, d, [&](const ImageView& a, const ImageView& b) {
      gaussian_blur(a, b, kh, kw, params(sigma, a.n * 2, "sigma"), Border(border));
    });
  });
  m.def("box_blur", [](py::handle s, py::handle d, int kh, int kw, int border) {
    run(s, d, [&](const ImageView& a, const ImageView& b) { box_blur(a, b, kh, kw, Border(border)); });
  });
  m.def("median_blur", [](py::handle s, py::handle d, int ksize) {
    run(s, d, [&](const ImageView& a, const ImageView& b) { median_blur(a, b, ksize); });
  });
  m.def("sobel", [](py::handle s, py::handle d, int dx, int dy, int ksize, double scale, double delta, int border) {
    run(s, d, [&](const ImageView& a, const ImageView& b) { sobel(a, b, dx, dy, ksize, scale, delta, Border(border)); });
  });
  m.def("edges", [](py::handle s, py::handle d) {
    run(s, d, [&](const ImageView& a, const ImageView& b) { edges(a, b); });
  });
  m.def("equalize", [](py::handle s, py::handle d) {
    run(s, d, [&](const ImageView& a, const ImageView& b) { equalize(a, b); });
  });
  m.def("to_gray", [](py::handle s, py::handle d) {
    run(s, d, [&](const ImageView& a, const ImageView& b) { to_gray(a, b); });
  });
  m.def("threshold", [](py::handle s, py::handle d, Params<double> thresh, Params<double> maxval, int mode) {
    run(s, d, [&](const ImageView& a, const ImageView& b) {
      threshold(a, b, params(thresh, a.n, "thresh"), params(maxval, a.n, "maxval"), ThresholdMode(mode));
    });
  });
  m.def("invert", [](py::handle s, py::handle d) {
    run(s, d, [&](const ImageView& a, const ImageView& b) { invert(a, b); });
  });
  m.def("normalize", [](py::handle s, py::handle d, Params<double> mean, Params<double> std, double scale) {
    run(s, d, [&](const ImageView& a, const ImageView& b) {
      normalize(a, b, params(mean, a.c, "mean"), params(std, a.c, "std"), scale);
    });
  });
}
