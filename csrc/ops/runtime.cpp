#include <omp.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "../common/check.hpp"
#include "backend.hpp"
#include "fastaug/runtime.hpp"

namespace fastaug {

// The key functions of the exception types: their typeinfo and vtable live here, exported (types.hpp).
Error::~Error() = default;
DeviceError::~DeviceError() = default;

namespace detail {

static std::atomic<int> g_threads{0};  // 0: OpenMP's default (OMP_NUM_THREADS or the core count)

// GNU OpenMP does not survive fork(): a child that starts a team after its parent ran one can hang
// (DataLoader workers are forked). A forked child therefore runs every region on its calling thread, as
// PyTorch's own intra-op pool does after fork.
static std::atomic<bool> g_forked{false};
static void mark_forked_child() { g_forked.store(true, std::memory_order_relaxed); }
static const int g_atfork = pthread_atfork(nullptr, nullptr, mark_forked_child);

int num_threads() {
  if (omp_in_parallel()) return 1;  // a region inside another (e.g. per image of a ragged batch): no nesting
  if (g_forked.load(std::memory_order_relaxed)) return 1;
  const int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
}

}  // namespace detail

void set_num_threads(int n) {
  FASTAUG_CHECK(n >= 1, "n: expected a positive thread count, got ", n);
  detail::g_threads.store(n, std::memory_order_relaxed);
}

int get_num_threads() { return detail::num_threads(); }

bool in_forked_child() { return detail::g_forked.load(std::memory_order_relaxed); }

const char* cpu_target() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(FASTAUG_NO_CLONES)
  // the order in which the FASTAUG_CPU_CLONES resolvers pick their clone
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4";
  if (__builtin_cpu_supports("avx2")) return "avx2";
  return "x86-64";
#else
  return "default";
#endif
}

bool cuda_available(char* reason, size_t reason_size) {
#ifdef FASTAUG_WITH_CUDA
  std::string why;
  const bool ok = cuda::device_available(&why);
#else
  const std::string why = "fastaug was built without CUDA kernels";
  const bool ok = false;
#endif
  if (reason && reason_size > 0) {
    const size_t len = std::min(why.size(), reason_size - 1);
    std::memcpy(reason, why.data(), len);
    reason[len] = '\0';
  }
  return ok;
}

}  // namespace fastaug
