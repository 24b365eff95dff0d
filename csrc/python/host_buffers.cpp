// Output buffers for NumPy results, recycled. A fresh np.empty of many megabytes is mapped anew by the C
// library on every call, and the kernel then pays a page fault for each 4 KiB it writes (the cost of an
// output can exceed the operator's). These blocks keep their pages when the array dies: the capsule that
// owns a block returns it to a free list (up to a cap of cached bytes), the next output of that size
// reuses it, and new large blocks ask for transparent huge pages (one fault per 2 MiB).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

namespace py = pybind11;

namespace {

constexpr size_t kPage = 4096;
constexpr size_t kHugePage = size_t(2) << 20;

struct Block {
  void* ptr;
  size_t size;  // bytes mapped (a multiple of the page size)
};

class Pool {
 public:
  Block take(size_t bytes) {
    const size_t size = (bytes + kPage - 1) / kPage * kPage;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        return {p, size};
      }
    }
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (size >= kHugePage) madvise(p, size, MADV_HUGEPAGE);
#endif
    return {p, size};
  }

  void give(const Block& b) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_ + b.size <= cap_) {
        free_[b.size].push_back(b.ptr);
        cached_ += b.size;
        return;
      }
    }
    munmap(b.ptr, b.size);
  }

  // Sets the cap on cached bytes (0: no caching) and unmaps what no longer fits; returns the old cap.
  size_t set_cap(size_t cap) {
    std::vector<Block> drop;
    size_t old;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      old = cap_;
      cap_ = cap;
      for (auto& [size, ptrs] : free_)
        while (cached_ > cap_ && !ptrs.empty()) {
          drop.push_back({ptrs.back(), size});
          ptrs.pop_back();
          cached_ -= size;
        }
    }
    for (const Block& b : drop) munmap(b.ptr, b.size);
    return old;
  }

  size_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

 private:
  std::mutex mutex_;
  std::map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
  size_t cap_ = size_t(512) << 20;
};

// Leaked on purpose: capsules of arrays that outlive the interpreter's module teardown still give back.
Pool& pool() {
  static Pool* p = new Pool;
  return *p;
}

}  // namespace

void bind_host_buffers(py::module_& m) {
  m.def("empty_buffer", [](size_t nbytes) {
    Block* b = new Block(pool().take(nbytes));
    py::capsule owner(b, [](void* q) {
      Block* blk = static_cast<Block*>(q);
      pool().give(*blk);
      delete blk;
    });
    return py::array(py::dtype("uint8"), {static_cast<py::ssize_t>(nbytes)}, {static_cast<py::ssize_t>(1)}, b->ptr,
                     owner);
  });
  m.def("set_buffer_cache", [](size_t bytes) { return pool().set_cap(bytes); });
  m.def("buffer_cache_bytes", []() { return pool().cached(); });
}
