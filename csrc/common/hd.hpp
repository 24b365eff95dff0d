// FASTAUG_HD marks per-pixel maths that both the CPU loops and the CUDA kernels compile.
#pragma once
#if defined(__CUDACC__)
#define FASTAUG_HD __host__ __device__ __forceinline__
#else
#define FASTAUG_HD inline
#endif
