// Argument checks that throw fastaug::Error with a message naming the argument.
#pragma once
#include <sstream>
#include <string>

#include "fastaug/image_view.hpp"
#include "fastaug/types.hpp"

namespace fastaug::detail {

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(cat(parts...));
}

#define FASTAUG_CHECK(cond, ...)                \
  do {                                          \
    if (!(cond)) ::fastaug::detail::fail(__VA_ARGS__); \
  } while (0)

inline std::string shape_str(const ImageView& v) { return cat("(", v.n, ", ", v.h, ", ", v.w, ", ", v.c, ")"); }

// The checks every operator makes on its images. Returns false when there is nothing to do.
inline void check_image(const ImageView& v, const char* name) {
  FASTAUG_CHECK(v.n >= 0 && v.h >= 0 && v.w >= 0, name, ": negative extent in shape ", shape_str(v));
  FASTAUG_CHECK(v.c == 1 || v.c == 3 || v.c == 4, name, ": expected 1, 3 or 4 channels, got ", v.c);
  FASTAUG_CHECK(v.dtype == DType::UInt8 || v.dtype == DType::Float32, name,
                ": expected dtype uint8 or float32, got code ", static_cast<int>(v.dtype));
  FASTAUG_CHECK(v.numel() == 0 || v.data != nullptr, name, ": data is null");
}

inline void check_pair(const ImageView& src, const ImageView& dst) {
  check_image(src, "src");
  check_image(dst, "dst");
  FASTAUG_CHECK(src.device == dst.device && src.device_id == dst.device_id,
                "dst: must be on the same device as src");
}

inline void check_shape(const ImageView& v, const char* name, int64_t n, int64_t h, int64_t w, int64_t c) {
  FASTAUG_CHECK(v.n == n && v.h == h && v.w == w && v.c == c, name, ": expected shape (", n, ", ", h, ", ", w,
                ", ", c, "), got ", shape_str(v));
}

inline void check_dtype(const ImageView& v, const char* name, DType t) {
  FASTAUG_CHECK(v.dtype == t, name, ": expected dtype ", dtype_name(t), ", got ", dtype_name(v.dtype));
}

}  // namespace fastaug::detail
