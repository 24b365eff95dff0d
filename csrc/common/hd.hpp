// FASTAUG_HD marks per-pixel maths that both the CPU loops and the CUDA kernels compile.
#pragma once
#if defined(__CUDACC__)
#define FASTAUG_HD __host__ __device__ __forceinline__
#else
#define FASTAUG_HD inline
#endif

// Hot CPU loops are compiled three times, for AVX-512 (x86-64-v4), AVX2 and the x86-64 baseline (SSE2),
// and the loader picks one at run time (GCC/Clang function multiversioning), so one wheel is fast on new
// CPUs and runs on all (fastaug::cpu_target() says which). No FMA contraction (-ffp-contract=off), so every
// clone gives the same bits; tests/test_cpu_targets.py checks it by forcing each clone under emulators.
// Loops that call fma32 take x86-64-v3 (AVX2 with FMA) for their middle clone: under plain "avx2" std::fma
// is a library call per value. The bits are the same on every clone (fma rounds once wherever it runs).
#if !defined(__CUDACC__) && defined(__x86_64__) && defined(__GNUC__) && !defined(FASTAUG_NO_CLONES)
#define FASTAUG_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#define FASTAUG_CPU_CLONES_FMA __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FASTAUG_CPU_CLONES
#define FASTAUG_CPU_CLONES_FMA
#endif
