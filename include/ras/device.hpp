// ras/device.hpp — compile-time devices. A device type supplies memory (allocate / deallocate,
// copy, copy_from_host / copy_to_host, synchronize) and says whether the host can touch its memory;
// its kernels come from a specialisation of kernels::Backend<D> (kernels/backend.hpp).
//   Cpu        host memory, kernels/cpu/ (Eigen vectorisation + OpenMP)
//   Reference  host memory, kernels/reference/ (scalar loops: the parity oracle)
//   Cuda       GPU memory and kernels/cuda/ (RAS_WITH_CUDA builds only)
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "ras/config.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace ras {

namespace detail {

// Large-block cache behind Cpu::allocate. glibc serves blocks above its mmap threshold (at most
// 32 MiB) with fresh mmap()s, so every activation of a batch-64 step (tens of MB) would be
// page-faulted in again on each use: a third of the time went to the kernel. Freed large blocks
// are kept (keyed by a size class: 8 classes per power of two) and reused, up to a byte budget
// (RAS_CPU_CACHE_MB, default 4096). Small blocks go straight to aligned_alloc.
class BlockCache {
 public:
  static constexpr std::size_t header = 64;            // keeps the user pointer 64-byte aligned
  static constexpr std::size_t large = std::size_t(1) << 18;

  // Never destroyed: tensors in other static objects may be freed during exit, after any
  // destructor of the cache would have run.
  static BlockCache& instance() {
    static BlockCache* cache = new BlockCache;
    return *cache;
  }

  void* allocate(std::size_t bytes) {
    const std::size_t size = size_class(bytes);
    if (size >= large) {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* base = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        return static_cast<char*>(base) + header;
      }
    }
    void* base = std::aligned_alloc(64, size + header);
    if (base == nullptr) {
      release_all();  // give the cache back and retry once
      base = std::aligned_alloc(64, size + header);
    }
    if (base == nullptr) return nullptr;
    *static_cast<std::size_t*>(base) = size;
    return static_cast<char*>(base) + header;
  }

  void deallocate(void* p) noexcept {
    if (p == nullptr) return;
    void* base = static_cast<char*>(p) - header;
    const std::size_t size = *static_cast<std::size_t*>(base);
    if (size >= large) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_ + size <= budget_) {
        try {
          free_[size].push_back(base);
          cached_ += size;
          return;
        } catch (...) {
        }
      }
    }
    std::free(base);
  }

  // Frees every cached block (e.g. after training, before a memory-hungry phase).
  void release_all() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_)
      for (void* b : blocks) std::free(b);
    free_.clear();
    cached_ = 0;
  }
  std::size_t cached_bytes() const { return cached_; }

 private:
  BlockCache() {
    std::size_t mb = 4096;
    if (const char* env = std::getenv("RAS_CPU_CACHE_MB")) mb = static_cast<std::size_t>(std::strtoull(env, nullptr, 10));
    budget_ = mb << 20;
  }
  // Rounds up to a multiple of 64 bytes, and large sizes to one of 8 classes per power of two.
  static std::size_t size_class(std::size_t bytes) {
    std::size_t s = (bytes + 63) / 64 * 64;
    if (s < large) return s;
    std::size_t p = std::size_t(1) << (63 - __builtin_clzll(s));
    const std::size_t step = p / 8;
    return (s + step - 1) / step * step;
  }

  std::mutex mutex_;
  std::map<std::size_t, std::vector<void*>> free_;
  std::size_t cached_ = 0, budget_ = 0;
};

}  // namespace detail

// Memory functions shared by the devices whose memory is ordinary host memory (Cpu, Reference,
// test devices): 64-byte aligned blocks from the block cache, copies are memcpy.
struct HostMemory {
  static constexpr bool host_accessible = true;
  static constexpr std::size_t alignment = 64;

  // Returns uninitialised memory aligned to 64 bytes; throws ras::Error when it cannot be had.
  // Large blocks are recycled through a cache (see detail::BlockCache).
  static void* allocate(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    void* p = detail::BlockCache::instance().allocate(bytes);
    RAS_CHECK(p != nullptr, "allocate: could not allocate ", bytes, " bytes of host memory");
    return p;
  }
  static void deallocate(void* p) noexcept { detail::BlockCache::instance().deallocate(p); }
  // Returns the cached free blocks to the system.
  static void release_cached_memory() noexcept { detail::BlockCache::instance().release_all(); }
  // Device-to-device, host-to-device and device-to-host copies (all memcpy here).
  static void copy(void* dst, const void* src, std::size_t bytes) {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  static void copy_from_host(void* dst, const void* src, std::size_t bytes) { copy(dst, src, bytes); }
  static void copy_to_host(void* dst, const void* src, std::size_t bytes) { copy(dst, src, bytes); }
  // Waits for queued work (host kernels run synchronously).
  static void synchronize() {}
};

// The CPU: kernels/cpu/ (Eigen vectorisation, OpenMP; thread count settable, all cores by default).
struct Cpu : HostMemory {
  static constexpr const char* name = "cpu";

  // Number of threads kernels use. Default: every core OpenMP sees (OMP_NUM_THREADS respected).
  static int num_threads() {
#if defined(_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
  }
  // Sets the thread count; more threads than the machine has cores is clamped to the core count,
  // with a warning on stderr (oversubscribed threads only wait for each other).
  static void set_num_threads(int n) {
    RAS_CHECK(n >= 1, "Cpu::set_num_threads: expected a thread count >= 1 but got ", n);
    n = clamp_threads(n, "threads");
#if defined(_OPENMP)
    omp_set_num_threads(n);
#endif
  }
  // The number of cores this process may run on (OpenMP's view: affinity masks respected).
  static int cores() {
#if defined(_OPENMP)
    return std::max(1, omp_get_num_procs());
#else
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
#endif
  }
  // min(n, cores()); warns once per distinct request on stderr when it clamps. `what` names the
  // setting in the message (e.g. "--threads").
  static int clamp_threads(int n, const char* what = "threads") {
    const int c = cores();
    if (n <= c) return n;
    static std::mutex m;
    static int warned = 0;
    std::lock_guard<std::mutex> lock(m);
    if (warned != n) {
      std::fprintf(stderr, "warning: %s %d is more than the %d cores of this machine; using %d\n", what, n, c, c);
      warned = n;
    }
    return c;
  }
};

// The reference device: host memory and kernels/reference/ (plain scalar loops, single thread,
// written to be obviously correct). The parity harness checks every other backend against it.
struct Reference : HostMemory {
  static constexpr const char* name = "reference";
};

// The GPU. Its memory functions (defined in include/ras/device_cuda.hpp) and kernels
// (kernels/cuda/, included by ras/cuda.cuh) exist only in a RAS_WITH_CUDA build; without them using
// it fails to compile with "no kernel backend for this device in this build".
struct Cuda {
  static constexpr const char* name = "cuda";
  static constexpr bool host_accessible = false;
#if defined(RAS_WITH_CUDA)
  static constexpr std::size_t alignment = 256;
  // Device memory of the current CUDA device (a caching allocator: freed blocks are reused by later
  // allocations, which run on the same stream, so reuse is stream-ordered). Throws ras::Error.
  static void* allocate(std::size_t bytes);
  static void deallocate(void* p) noexcept;
  static void release_cached_memory() noexcept;
  // Device-to-device (asynchronous on the library's stream); host-to-device and device-to-host
  // (complete when they return).
  static void copy(void* dst, const void* src, std::size_t bytes);
  static void copy_from_host(void* dst, const void* src, std::size_t bytes);
  static void copy_to_host(void* dst, const void* src, std::size_t bytes);
  // Waits for every kernel and copy queued on the library's stream.
  static void synchronize();
#endif
};

// True for devices whose memory the host may read and write directly (element access, file I/O).
template <class D>
inline constexpr bool is_host_device = D::host_accessible;

// `bytes` from memory of device DS to memory of device DD (host <-> device, device <-> device; two
// different non-host devices go through a host buffer).
template <class DS, class DD>
inline void copy_between_devices(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  if constexpr (is_host_device<DS> && is_host_device<DD>) {
    std::memcpy(dst, src, bytes);
  } else if constexpr (is_host_device<DS>) {
    DD::copy_from_host(dst, src, bytes);
  } else if constexpr (is_host_device<DD>) {
    DS::copy_to_host(dst, src, bytes);
  } else if constexpr (std::is_same_v<DS, DD>) {
    DD::copy(dst, src, bytes);
  } else {
    std::vector<unsigned char> host(bytes);
    DS::copy_to_host(host.data(), src, bytes);
    DD::copy_from_host(dst, host.data(), bytes);
  }
}

}  // namespace ras

#if defined(RAS_WITH_CUDA)
#include "ras/device_cuda.hpp"
#endif
