// The fastaug C++ API: one function per operator, over ImageViews (any layout, strides in elements).
//
// Shared contract (each function adds its own):
// - Images are N x H x W x C with C in {1, 3, 4}, dtype uint8 or float32, unless a function says otherwise.
// - Per-sample parameters are arrays with one entry per sample (N entries of the stated size); a caller
//   that wants one value for all repeats it. The pointers are host memory.
// - src and dst must not overlap; dst's shape and dtype are validated against what the op produces.
// - uint8 results are rounded to nearest (ties to even, like cvRound) and saturated to [0, 255].
// - Bad arguments throw fastaug::Error (a std::invalid_argument naming the argument) before any memory is touched;
//   device failures throw fastaug::DeviceError (a std::runtime_error). See types.hpp.
// - Coordinates follow OpenCV: pixel centres are at integer coordinates.
//
// The declarations, one header per family (this header includes them all): geometry.hpp (warps, resize,
// flip, rotate90, crop, tiles), filters.hpp (filters, sobel, edges), intensity.hpp (equalize ... hue_shift),
// runtime.hpp (threads, CPU target, CUDA availability).
#pragma once
#include "fastaug/filters.hpp"
#include "fastaug/geometry.hpp"
#include "fastaug/intensity.hpp"
#include "fastaug/runtime.hpp"
