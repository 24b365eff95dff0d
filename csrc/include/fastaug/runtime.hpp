// The fastaug C++ API, runtime: thread count, fork detection, the CPU target in use, CUDA availability.
#pragma once
#include <cstddef>
#include <string>

#include "fastaug/export.hpp"

// Every function declared in this header is exported (the library hides everything else).
FASTAUG_API_BEGIN
namespace fastaug {

void set_num_threads(int n);
int get_num_threads();
// Whether this process was forked from one that loaded fastaug: its CPU kernels then run on one thread
// (GNU OpenMP hangs in a child forked after its parent ran a parallel region).
bool in_forked_child();

// The instruction set the CPU kernels run with on this machine, chosen at load time: "x86-64-v4"
// (AVX-512), "avx2", or "x86-64" (the SSE2 baseline); the results are the same bits on each.
const char* cpu_target();

// How the float32 planar warps (NCHW images seen through strides, the torch policies' layout) read their taps
// here: "hardware" (AVX-512 / AVX2 gathers, one channel at a time) or "scalar" (plain loads, all channels of a
// pixel together), whichever ran faster when timed once in this process (some CPUs microcode the gathers);
// the environment variable FASTAUG_PLANAR_GATHER=hardware or scalar forces one (another value: fastaug::Error,
// from this call and from the first float32 planar warp). Both give the same bits.
const char* planar_gather_mode();

// Whether CUDA images can be processed: the CUDA kernels are built and a device is usable. If not and
// reason is given, it receives why (e.g. "built without CUDA", or the CUDA runtime's own message), as a
// NUL-terminated string cut to reason_size bytes. No std::string crosses the library boundary: a program built
// with another standard library (or ABI) can call it.
bool cuda_available(char* reason, size_t reason_size);
inline bool cuda_available(std::string* reason = nullptr) {
  char buf[512] = {};
  const bool ok = cuda_available(buf, sizeof buf);
  if (reason) *reason = buf;
  return ok;
}

}  // namespace fastaug
FASTAUG_API_END
