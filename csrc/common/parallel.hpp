// CPU parallel loops (OpenMP). The thread count is fastaug::set_num_threads', passed to every region
// explicitly: omp_set_num_threads would only reach regions started by the calling thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace fastaug::detail {

int num_threads();  // runtime.cpp

// Calls f(n, y) for every row of every image, rows spread over the threads in runs of consecutive rows
// taken on demand (about 8 runs a thread): a thread that the OS preempts (another process on its core)
// leaves its remaining runs to the others instead of holding up the whole call, as a static split would.
template <class F>
void parallel_rows(int64_t n, int64_t h, F&& f) {
  const int64_t total = n * h;
  const int threads = num_threads();
  const int64_t run = total / (8 * int64_t(threads)) > 1 ? total / (8 * int64_t(threads)) : 1;
#pragma omp parallel for schedule(dynamic, run) num_threads(threads)
  for (int64_t i = 0; i < total; ++i) f(i / h, i % h);
}

// Calls f(i) for i in [0, count), spread over the threads.
template <class F>
void parallel_for(int64_t count, F&& f) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(num_threads())
  for (int64_t i = 0; i < count; ++i) f(i);
}

// Calls f(n, y_begin, y_end) for blocks of `rows` consecutive rows of every image, in parallel.
template <class F>
void parallel_blocks(int64_t n, int64_t h, int64_t rows, F&& f) {
  const int64_t blocks = (h + rows - 1) / rows;
  parallel_for(n * blocks, [&](int64_t i) {
    const int64_t img = i / blocks, y0 = (i % blocks) * rows;
    f(img, y0, y0 + rows < h ? y0 + rows : h);
  });
}

// Uninitialised scratch memory for one task's buffers: a std::vector would zero them first, which for
// the filters' row buffers costs as much as writing the output.
template <class T>
std::unique_ptr<T[]> scratch(size_t count) {
  return std::unique_ptr<T[]>(new T[count]);
}

}  // namespace fastaug::detail
