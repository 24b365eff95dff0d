// Public enums and the error types of the fastaug C++ API. No Python, no CUDA.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fastaug/export.hpp"

namespace fastaug {

// Images are uint8 or float32. Float16 (IEEE binary16) and BFloat16 (float32's upper 16 bits) are output
// types only, of the operators that say so (normalize).
enum class DType : int { UInt8 = 0, Float32 = 1, Float16 = 2, BFloat16 = 3 };
enum class Device : int { CPU = 0, CUDA = 1 };

// Values equal OpenCV's INTER_* so that users can pass cv2 constants.
enum class Interp : int { Nearest = 0, Linear = 1, Cubic = 2, Area = 3 };

// Values equal OpenCV's BORDER_* constants.
enum class Border : int { Constant = 0, Replicate = 1, Reflect = 2, Wrap = 3, Reflect101 = 4 };

// Values equal OpenCV's THRESH_* constants.
enum class ThresholdMode : int { Binary = 0, BinaryInv = 1, Trunc = 2, ToZero = 3, ToZeroInv = 4 };

// Every bad argument raises this, before any memory is touched; the message names the argument, what it got and
// what it accepts ("dst: expected shape (2, 8, 8, 3), got (2, 8, 8, 1)"). Catch std::invalid_argument or this.
struct FASTAUG_API Error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
  ~Error() override;  // defined in the library: one typeinfo, exported, so catch works across a shared library
};

// A device or resource failure on valid arguments: a CUDA image with no usable device, a CUDA runtime error
// (the runtime's name and message), a failed allocation of working memory. Catch std::runtime_error or this.
// (Python sees it as ValueError, as before this type existed.)
struct FASTAUG_API DeviceError : std::runtime_error {
  using std::runtime_error::runtime_error;
  ~DeviceError() override;
};

// A CUDA stream, type-erased so that this header needs no CUDA. nullptr = the legacy default stream.
struct Stream {
  void* handle = nullptr;
};

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::UInt8:
      return "uint8";
    case DType::Float32:
      return "float32";
    case DType::Float16:
      return "float16";
    case DType::BFloat16:
      return "bfloat16";
  }
  return "unknown";
}

// Bytes per element.
inline int dtype_size(DType t) { return t == DType::UInt8 ? 1 : (t == DType::Float32 ? 4 : 2); }

}  // namespace fastaug
