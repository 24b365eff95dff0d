// Public enums and the error type of the fastaug C++ API. No Python, no CUDA.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace fastaug {

enum class DType : int { UInt8 = 0, Float32 = 1 };
enum class Device : int { CPU = 0, CUDA = 1 };

// Values equal OpenCV's INTER_* so that users can pass cv2 constants.
enum class Interp : int { Nearest = 0, Linear = 1, Cubic = 2, Area = 3 };

// Values equal OpenCV's BORDER_* constants.
enum class Border : int { Constant = 0, Replicate = 1, Reflect = 2, Wrap = 3, Reflect101 = 4 };

// Values equal OpenCV's THRESH_* constants.
enum class ThresholdMode : int { Binary = 0, BinaryInv = 1, Trunc = 2, ToZero = 3, ToZeroInv = 4 };

// Every bad argument raises this; the message names the argument, what it got and what it accepts.
struct Error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// A CUDA stream, type-erased so that this header needs no CUDA. nullptr = the legacy default stream.
struct Stream {
  void* handle = nullptr;
};

inline const char* dtype_name(DType t) { return t == DType::UInt8 ? "uint8" : "float32"; }

}  // namespace fastaug
