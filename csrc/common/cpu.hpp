// Run-time CPU feature checks for the hand-written x86 paths (one wheel runs on any x86-64: a path built
// with __attribute__((target("avx2"))) is taken only where the CPU has it). FASTAUG_X86_SIMD is defined
// where such paths can be compiled (GCC or Clang on x86-64, host code).
#pragma once
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
#define FASTAUG_X86_SIMD 1

namespace fastaug::detail {

inline bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

}  // namespace fastaug::detail
#endif
