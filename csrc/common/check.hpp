// Argument checks that throw fastaug::Error with a message naming the argument (fail), and device failures
// (fail_device).
#pragma once
#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>

#include "fastaug/image_view.hpp"
#include "fastaug/types.hpp"

namespace fastaug::detail {

// Message text without iostreams: a toolchain that links libstdc++ statically into the module (seen on a
// GPU machine's GCC 13) can leave the stream locale machinery half bound to the process's other
// libstdc++, and formatting a number through an ostringstream then crashed. Numbers as printf formats
// them (%g: what an ostream prints by default).
inline void append(std::string& s, std::string_view v) { s += v; }
inline void append(std::string& s, char v) { s += v; }
template <class T>
std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, char>> append(std::string& s, T v) {
  s += std::to_string(v);
}
template <class T>
std::enable_if_t<std::is_floating_point_v<T>> append(std::string& s, T v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
  s += buf;
}

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string s;
  (append(s, parts), ...);
  return s;
}

template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(cat(parts...));
}

// A device or resource failure (fastaug::DeviceError, a std::runtime_error), with the same message style.
template <class... Parts>
[[noreturn]] void fail_device(const Parts&... parts) {
  throw DeviceError(cat(parts...));
}

#define FASTAUG_CHECK(cond, ...)                       \
  do {                                                 \
    if (!(cond)) ::fastaug::detail::fail(__VA_ARGS__); \
  } while (0)

inline std::string shape_str(const ImageView& v) { return cat("(", v.n, ", ", v.h, ", ", v.w, ", ", v.c, ")"); }

// The checks every operator makes on its images: shape, channels, data, and a dtype of uint8 or float32
// (float16 or bfloat16 too with float_out, for the outputs of normalize).
inline void check_image(const ImageView& v, const char* name, bool float_out = false) {
  FASTAUG_CHECK(v.n >= 0 && v.h >= 0 && v.w >= 0, name, ": negative extent in shape ", shape_str(v));
  FASTAUG_CHECK(v.c == 1 || v.c == 3 || v.c == 4, name, ": expected 1, 3 or 4 channels, got ", v.c);
  if (float_out)
    FASTAUG_CHECK(v.dtype == DType::Float32 || v.dtype == DType::Float16 || v.dtype == DType::BFloat16, name,
                  ": expected dtype float32, float16 or bfloat16, got ", dtype_name(v.dtype));
  else
    FASTAUG_CHECK(v.dtype == DType::UInt8 || v.dtype == DType::Float32, name, ": expected dtype uint8 or float32, got ",
                  dtype_name(v.dtype));
  FASTAUG_CHECK(v.numel() == 0 || v.data != nullptr, name, ": data is null");
}

// The bytes [first, last) that a view's elements span, whatever the signs of its strides.
inline void byte_span(const ImageView& v, const char*& first, const char*& last) {
  const int64_t elem = dtype_size(v.dtype);
  int64_t lo = 0, hi = 0;
  const int64_t extents[4][2] = {{v.n, v.sn}, {v.h, v.sh}, {v.w, v.sw}, {v.c, v.sc}};
  for (const auto& e : extents) (e[1] < 0 ? lo : hi) += (e[0] - 1) * e[1];
  first = static_cast<const char*>(v.data) + lo * elem;
  last = static_cast<const char*>(v.data) + (hi + 1) * elem;
}

// src and dst must not share memory: the kernels read src while they write dst (in place is not supported).
inline void check_no_overlap(const ImageView& src, const ImageView& dst) {
  if (src.numel() == 0 || dst.numel() == 0) return;
  const char *s0, *s1, *d0, *d1;
  byte_span(src, s0, s1);
  byte_span(dst, d0, d1);
  FASTAUG_CHECK(d1 <= s0 || s1 <= d0,
                "dst: overlaps src (in-place operation is not supported); expected separate memory");
}

inline void check_pair(const ImageView& src, const ImageView& dst, bool float_out = false) {
  check_image(src, "src");
  check_image(dst, "dst", float_out);
  FASTAUG_CHECK(src.device == dst.device && src.device_id == dst.device_id, "dst: must be on the same device as src");
  check_no_overlap(src, dst);
}

// Every image of a ragged batch, named name[i].
inline void check_images(const RaggedView& v, const char* name) {
  FASTAUG_CHECK(v.n >= 0 && (v.n == 0 || v.images != nullptr), name, ": expected ", v.n, " images, got a null list");
  for (int64_t i = 0; i < v.n; ++i) check_image(v.image(i), cat(name, "[", i, "]").c_str());
}

// A ragged batch and its destination: one dense batch, or a ragged batch (one image per source image).
inline void check_pair(const RaggedView& src, const ImageView& dst) {
  check_images(src, "src");
  check_image(dst, "dst");
  FASTAUG_CHECK(src.device == dst.device && src.device_id == dst.device_id, "dst: must be on the same device as src");
}
inline void check_pair(const RaggedView& src, const RaggedView& dst) {
  check_images(src, "src");
  check_images(dst, "dst");
  FASTAUG_CHECK(src.device == dst.device && src.device_id == dst.device_id, "dst: must be on the same device as src");
}

inline void check_shape(const ImageView& v, const char* name, int64_t n, int64_t h, int64_t w, int64_t c) {
  FASTAUG_CHECK(v.n == n && v.h == h && v.w == w && v.c == c, name, ": expected shape (", n, ", ", h, ", ", w, ", ", c,
                "), got ", shape_str(v));
}

inline void check_dtype(const ImageView& v, const char* name, DType t) {
  FASTAUG_CHECK(v.dtype == t, name, ": expected dtype ", dtype_name(t), ", got ", dtype_name(v.dtype));
}

}  // namespace fastaug::detail
