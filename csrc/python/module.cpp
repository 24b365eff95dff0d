// fastaug._C: a thin pybind11 layer over the C++ API. Each binding turns DLPack capsules into views,
// checks the size of the parameter arrays, releases the GIL and calls fastaug::<op>. No algorithm here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <optional>

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

// Runs fn(src_view, dst_view, stream) on the consumed capsules with the GIL released. `stream` is the
// caller's CUDA stream as an integer handle (0: the default stream; ignored on the CPU).
template <class Fn>
void run(py::handle src, py::handle dst, std::uintptr_t stream, Fn&& fn) {
  Consumed s(src, "img", false), d(dst, "out", true);
  py::gil_scoped_release release;
  fn(s.view(), d.view(), fastaug::Stream{reinterpret_cast<void*>(stream)});
}

// run() for the operators that also take a ragged batch: src a list of capsules (one image each) gives fn a
// RaggedView instead of an ImageView; with RaggedOut, dst is then a list too (one output image per input).
template <bool RaggedOut = false, class Fn>
void run_ragged(py::handle src, py::handle dst, std::uintptr_t stream, Fn&& fn) {
  const auto is_list = [](py::handle h) { return py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h); };
  if (!is_list(src)) return run(src, dst, stream, fn);
  fastaug::python::ConsumedList s(src, "img", false);
  const fastaug::Stream st{reinterpret_cast<void*>(stream)};
  if constexpr (RaggedOut) {
    FASTAUG_CHECK(is_list(dst), "out: expected a list of output images for a list of images");
    fastaug::python::ConsumedList d(dst, "out", true);
    py::gil_scoped_release release;
    fn(s.view(), d.view(), st);
  } else {
    Consumed d(dst, "out", true);
    py::gil_scoped_release release;
    fn(s.view(), d.view(), st);
  }
}

}  // namespace

void bind_host_buffers(py::module_& m);  // host_buffers.cpp

PYBIND11_MODULE(_C, m) {
  using namespace fastaug;
  m.doc() = "fastaug native kernels (C++/OpenMP). Use the fastaug package, not this module.";
#ifdef FASTAUG_WITH_CUDA
  m.attr("with_cuda") = true;
#else
  m.attr("with_cuda") = false;
#endif
  // A bad argument found by the C++ layer (fastaug::Error, std::invalid_argument) is the Python package's
  // fastaug.ArgumentError (a ValueError), as the ones its own checks raise; a device failure
  // (std::runtime_error in C++) stays the ValueError that Python callers have always caught.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyObject* type = PyExc_ValueError;
      py::object argument_error;
      try {
        argument_error = py::module_::import("fastaug._errors").attr("ArgumentError");
        type = argument_error.ptr();
      } catch (const py::error_already_set&) {  // fastaug._C imported on its own: a plain ValueError
      }
      PyErr_SetString(type, e.what());
    } catch (const DeviceError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  m.def("cuda_status", []() {
    std::string reason;
    const bool ok = cuda_available(&reason);
    return py::make_tuple(ok, reason);
  });
  m.def("set_num_threads", &set_num_threads);
  m.def("get_num_threads", &get_num_threads);
  m.def("in_forked_child", &in_forked_child);
  m.def("cpu_target", &cpu_target);
  m.def("planar_gather", &planar_gather_mode);
  bind_host_buffers(m);

  // img: one capsule (a batch) or a list of capsules (a ragged batch, one image each)
  m.def("warp_affine",
        [](py::handle s, py::handle d, Params<double> M, int interp, int border, Fill fill, std::uintptr_t stream) {
          run_ragged(s, d, stream, [&](const auto& a, const ImageView& b, Stream st) {
            warp_affine(a, b, params(M, a.n * 6, "M"), Interp(interp), Border(border), fill.data(), st);
          });
        });
  m.def("warp_perspective",
        [](py::handle s, py::handle d, Params<double> H, int interp, int border, Fill fill, std::uintptr_t stream) {
          run_ragged(s, d, stream, [&](const auto& a, const ImageView& b, Stream st) {
            warp_perspective(a, b, params(H, a.n * 9, "H"), Interp(interp), Border(border), fill.data(), st);
          });
        });
  // The warps' backward (private: fastaug.functional.warp.warp_backward). img: a list of capsules, [grad] or
  // [grad, the forward's input]; out: the image gradient, read only with need_img; grad_inv: None or a writable
  // C-contiguous float64 array of 9 values per sample.
  const auto warp_backward = [](bool perspective) {
    return [perspective](py::handle srcs, py::handle d, Params<double> M, int interp, int border, Fill fill,
                         py::handle grad_inv, bool need_img, std::uintptr_t stream) {
      FASTAUG_CHECK(py::isinstance<py::list>(srcs) && (py::len(srcs) == 1 || py::len(srcs) == 2),
                    "img: expected a list [grad] or [grad, img] of capsules");
      const py::list list = py::reinterpret_borrow<py::list>(srcs);
      Consumed g(list[0], "grad", false);
      std::optional<Consumed> s, o;
      if (py::len(list) == 2) s.emplace(list[1], "img", false);
      if (need_img) o.emplace(d, "out", true);
      double* inv = nullptr;
      if (!grad_inv.is_none()) {
        using Out = py::array_t<double, py::array::c_style>;
        FASTAUG_CHECK(Out::check_(grad_inv), "grad_inv: expected a C-contiguous float64 NumPy array");
        auto a = py::reinterpret_borrow<Out>(grad_inv);
        FASTAUG_CHECK(a.size() == g.view().n * 9 && a.writeable(), "grad_inv: expected a writable array of ",
                      g.view().n * 9, " float64 values, got ", a.size());
        inv = a.mutable_data();
      }
      const double* m = params(M, g.view().n * (perspective ? 9 : 6), perspective ? "H" : "M");
      py::gil_scoped_release release;
      (perspective ? warp_perspective_backward : warp_affine_backward)(
          g.view(), s ? &s->view() : nullptr, o ? &o->view() : nullptr, m, Interp(interp), Border(border), fill.data(),
          inv, Stream{reinterpret_cast<void*>(stream)});
    };
  };
  m.def("warp_affine_backward", warp_backward(false));
  m.def("warp_perspective_backward", warp_backward(true));
  // img and out: two capsules (batches), or two lists of capsules (ragged batches, one output per image)
  m.def("resize", [](py::handle s, py::handle d, int interp, std::uintptr_t stream) {
    run_ragged<true>(s, d, stream, [&](const auto& a, const auto& b, Stream st) { resize(a, b, Interp(interp), st); });
  });
  m.def("flip", [](py::handle s, py::handle d, Params<int32_t> codes, std::uintptr_t stream) {
    run(s, d, stream,
        [&](const ImageView& a, const ImageView& b, Stream st) { flip(a, b, params(codes, a.n, "axis"), st); });
  });
  m.def("rotate90", [](py::handle s, py::handle d, Params<int32_t> k, std::uintptr_t stream) {
    run(s, d, stream,
        [&](const ImageView& a, const ImageView& b, Stream st) { rotate90(a, b, params(k, a.n, "k"), st); });
  });
  m.def("crop", [](py::handle s, py::handle d, Params<int64_t> top_left, std::uintptr_t stream) {
    run(s, d, stream,
        [&](const ImageView& a, const ImageView& b, Stream st) { crop(a, b, params(top_left, a.n * 2, "boxes"), st); });
  });
  m.def("tiles", [](py::handle s, py::handle d, int64_t sy, int64_t sx, std::uintptr_t stream) {
    run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) { tiles(a, b, sy, sx, st); });
  });
  m.def("filter2d",
        [](py::handle s, py::handle d, Params<float> k, int kh, int kw, int border, Fill fill, std::uintptr_t stream) {
          run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) {
            filter2d(a, b, params(k, a.n * kh * kw, "kernel"), kh, kw, Border(border), fill.data(), st);
          });
        });
  m.def("sep_filter2d", [](py::handle s, py::handle d, Params<float> kx, int kw, Params<float> ky, int kh, int border,
                           Fill fill, double delta, std::uintptr_t stream) {
    run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) {
      sep_filter2d(a, b, params(kx, a.n * kw, "kx"), kw, params(ky, a.n * kh, "ky"), kh, Border(border), fill.data(),
                   delta, st);
    });
  });
  m.def("gaussian_blur",
        [](py::handle s, py::handle d, int kh, int kw, Params<double> sigma, int border, std::uintptr_t stream) {
          run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) {
            gaussian_blur(a, b, kh, kw, params(sigma, a.n * 2, "sigma"), Border(border), st);
          });
        });
  m.def("box_blur", [](py::handle s, py::handle d, int kh, int kw, int border, std::uintptr_t stream) {
    run(s, d, stream,
        [&](const ImageView& a, const ImageView& b, Stream st) { box_blur(a, b, kh, kw, Border(border), st); });
  });
  m.def("median_blur", [](py::handle s, py::handle d, int ksize, std::uintptr_t stream) {
    run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) { median_blur(a, b, ksize, st); });
  });
  m.def("sobel", [](py::handle s, py::handle d, int dx, int dy, int ksize, double scale, double delta, int border,
                    std::uintptr_t stream) {
    run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) {
      sobel(a, b, dx, dy, ksize, scale, delta, Border(border), st);
    });
  });
  m.def("edges", [](py::handle s, py::handle d, std::uintptr_t stream) {
    run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) { edges(a, b, st); });
  });
  m.def("equalize", [](py::handle s, py::handle d, std::uintptr_t stream) {
    run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) { equalize(a, b, st); });
  });
  m.def("to_gray", [](py::handle s, py::handle d, std::uintptr_t stream) {
    run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) { to_gray(a, b, st); });
  });
  m.def("threshold",
        [](py::handle s, py::handle d, Params<double> thresh, Params<double> maxval, int mode, std::uintptr_t stream) {
          run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) {
            threshold(a, b, params(thresh, a.n, "thresh"), params(maxval, a.n, "maxval"), ThresholdMode(mode), st);
          });
        });
  m.def("invert", [](py::handle s, py::handle d, std::uintptr_t stream) {
    run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) { invert(a, b, st); });
  });
  // matrix: None, or color_transform's N * C * (C + 1) doubles fused in front.
  m.def("normalize", [](py::handle s, py::handle d, Params<double> mean, Params<double> std, double scale,
                        std::optional<Params<double>> matrix, std::uintptr_t stream) {
    run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) {
      normalize(a, b, params(mean, a.c, "mean"), params(std, a.c, "std"), scale,
                matrix ? params(*matrix, a.n * a.c * (a.c + 1), "matrix") : nullptr, st);
    });
  });
  m.def("lut", [](py::handle s, py::handle d, Params<uint8_t> table, std::uintptr_t stream) {
    run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) {
      lut(a, b, params(table, a.n * a.c * 256, "table"), st);
    });
  });
  m.def("color_transform", [](py::handle s, py::handle d, Params<double> matrix, std::uintptr_t stream) {
    run(s, d, stream, [&](const ImageView& a, const ImageView& b, Stream st) {
      color_transform(a, b, params(matrix, a.n * a.c * (a.c + 1), "matrix"), st);
    });
  });
  m.def("hue_shift", [](py::handle s, py::handle d, Params<double> hue, std::uintptr_t stream) {
    run(s, d, stream,
        [&](const ImageView& a, const ImageView& b, Stream st) { hue_shift(a, b, params(hue, a.n, "hue"), st); });
  });
  // A reduction: the N x C means go into `out`, a C-contiguous float64 NumPy array (not a DLPack capsule).
  m.def("channel_mean", [](py::handle s, py::handle out, std::uintptr_t stream) {
    using Out = py::array_t<double, py::array::c_style>;
    FASTAUG_CHECK(Out::check_(out), "out: expected a C-contiguous float64 NumPy array");
    auto means = py::reinterpret_borrow<Out>(out);
    Consumed src(s, "img", false);
    const ImageView& v = src.view();
    FASTAUG_CHECK(means.size() == v.n * v.c && means.writeable(), "out: expected a writable array of ", v.n * v.c,
                  " float64 values, got ", means.size());
    double* data = means.mutable_data();
    py::gil_scoped_release release;
    channel_mean(v, data, Stream{reinterpret_cast<void*>(stream)});
  });
}
