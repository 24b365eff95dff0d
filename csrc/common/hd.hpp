// FASTAUG_HD marks per-pixel maths that both the CPU loops and the CUDA kernels compile.
#pragma once
#if defined(__CUDACC__)
#define FASTAUG_HD __host__ __device__ __forceinline__
#else
#define FASTAUG_HD inline
#endif

// Hot CPU loops are compiled twice, for AVX2 and for the x86-64 baseline, and the loader picks one at
// run time (GCC/Clang function multiversioning), so one wheel is fast on new CPUs and runs on all.
// No FMA is enabled, so both clones give the same bits.
#if !defined(__CUDACC__) && defined(__x86_64__) && defined(__GNUC__) && !defined(FASTAUG_NO_CLONES)
#define FASTAUG_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FASTAUG_CPU_CLONES
#endif
