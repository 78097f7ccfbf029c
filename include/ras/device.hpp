// ras/device.hpp — compile-time devices. `Cpu` runs kernels with Eigen vectorisation and OpenMP
// (thread count settable, all cores by default) and allocates 64-byte aligned memory. `Cuda` is
// the seam for the GPU backend: a tag type whose kernels live in `kernels/cuda/` (built only with
// RAS_WITH_CUDA); on a CPU-only build no kernel is specialised for it, so using it fails to compile.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include "ras/config.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace ras {

struct Cpu {
  static constexpr const char* name = "cpu";
  static constexpr std::size_t alignment = 64;

  // Returns uninitialised memory aligned to 64 bytes; throws ras::Error when it cannot be had.
  static void* allocate(std::size_t bytes) {
    if (bytes == 0) return nullptr;
    std::size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    void* p = std::aligned_alloc(alignment, rounded);
    RAS_CHECK(p != nullptr, "Cpu::allocate: could not allocate ", bytes, " bytes");
    return p;
  }
  static void deallocate(void* p) noexcept { std::free(p); }
  static void memcpy(void* dst, const void* src, std::size_t bytes) {
    if (bytes) std::memcpy(dst, src, bytes);
  }

  // Number of threads kernels use. Default: every core OpenMP sees (OMP_NUM_THREADS respected).
  static int num_threads() {
#if defined(_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
  }
  static void set_num_threads(int n) {
    RAS_CHECK(n >= 1, "Cpu::set_num_threads: expected a thread count >= 1 but got ", n);
#if defined(_OPENMP)
    omp_set_num_threads(n);
#endif
  }
};

// GPU device tag. Kernels are specialised for it in include/ras/kernels/cuda/ (RAS_WITH_CUDA).
struct Cuda {
  static constexpr const char* name = "cuda";
};

template <class D>
inline constexpr bool is_cpu_device = std::is_same_v<D, Cpu>;

}  // namespace ras
