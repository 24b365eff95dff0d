// Runtime enum -> compile-time type/constant, one table per axis, used by every backend.
#pragma once
#include <cstdint>
#include <type_traits>

#include "check.hpp"
#include "fastaug/types.hpp"
#include "saturate.hpp"

namespace fastaug::detail {

template <class F>
void dispatch_dtype(DType t, F&& f) {
  switch (t) {
    case DType::UInt8:
      return f(uint8_t{});
    case DType::Float32:
      return f(float{});
    default:  // float16 / bfloat16: outputs of normalize only
      break;
  }
  fail("dtype: expected uint8 or float32, got ", dtype_name(t));
}

// The float output types of normalize: float32, float16 (Half) or bfloat16 (BFloat16), see saturate.hpp.
template <class F>
void dispatch_float_out(DType t, F&& f) {
  switch (t) {
    case DType::Float32:
      return f(float{});
    case DType::Float16:
      return f(Half{});
    case DType::BFloat16:
      return f(BFloat16{});
    default:
      break;
  }
  fail("dst: expected dtype float32, float16 or bfloat16, got ", dtype_name(t));
}

template <class F>
void dispatch_channels(int64_t c, F&& f) {
  switch (c) {
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
  }
  fail("channels: expected 1, 3 or 4, got ", c);
}

template <class F>
void dispatch_interp(Interp i, F&& f) {
  switch (i) {
    case Interp::Nearest:
      return f(std::integral_constant<Interp, Interp::Nearest>{});
    case Interp::Linear:
      return f(std::integral_constant<Interp, Interp::Linear>{});
    case Interp::Cubic:
      return f(std::integral_constant<Interp, Interp::Cubic>{});
    default:
      break;
  }
  fail("interp: expected nearest, linear or cubic, got code ", static_cast<int>(i));
}

inline void check_border(Border b) {
  FASTAUG_CHECK(static_cast<int>(b) >= 0 && static_cast<int>(b) <= 4,
                "border: expected one of constant, "
                "replicate, reflect, wrap, reflect101, got code ",
                static_cast<int>(b));
}

}  // namespace fastaug::detail
