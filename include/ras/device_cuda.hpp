// ras/device_cuda.hpp — the memory half of the Cuda device (RAS_WITH_CUDA builds only; device.hpp
// includes it there): a caching allocator over cudaMalloc / cudaFree, copies on one library stream,
// synchronisation, and CUDA errors turned into ras::Error with CUDA's own message. Host code only
// (the CUDA runtime API), so a g++-compiled translation unit of a CUDA build may include it too;
// the kernels (kernels/cuda/*.cuh, umbrella ras/cuda.cuh) need nvcc.
//
//   ras::cuda_device_count()    number of usable CUDA devices (0 when there is none or no driver)
//   ras::require_cuda_device()  throws ras::Error("no CUDA device found") when there is none
//   ras::cuda_stream()          the stream every kernel and copy of the library runs on
#pragma once

#if !defined(RAS_WITH_CUDA)
#error "ras/device_cuda.hpp needs a CUDA build (configure with -DRAS_WITH_CUDA=ON)"
#endif

#include <cuda_runtime.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ras/config.hpp"
#include "ras/device.hpp"

namespace ras {

namespace detail_cuda {

// Throws ras::Error naming the call and CUDA's error string when e is not cudaSuccess.
inline void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  cudaGetLastError();  // clear a sticky-free error so the next call starts clean
  detail::throw_error("CUDA error in ", what, ": ", cudaGetErrorString(e), " (", cudaGetErrorName(e), ")");
}

// Device count, 0 when the runtime finds no device or no driver (never throws).
inline int device_count_noexcept() noexcept {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

// Per-device state: the library stream and the cache of freed blocks. Never destroyed (tensors in
// static objects may be freed during exit).
class Context {
 public:
  static Context& current() {
    static std::mutex m;
    static std::map<int, Context*>* contexts = new std::map<int, Context*>;
    int dev = 0;
    check(cudaGetDevice(&dev), "cudaGetDevice");
    std::lock_guard<std::mutex> lock(m);
    auto& c = (*contexts)[dev];
    if (c == nullptr) c = new Context(dev);
    return *c;
  }

  cudaStream_t stream() const { return stream_; }
  int device() const { return device_; }

  void* allocate(std::size_t bytes) {
    const std::size_t size = size_class(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        live_[p] = size;
        return p;
      }
    }
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, size);
    if (e == cudaErrorMemoryAllocation) {  // give the cache back and retry once
      cudaGetLastError();
      release_all();
      e = cudaMalloc(&p, size);
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      detail::throw_error("allocate: could not allocate ", bytes, " bytes of CUDA device memory on device ",
                          device_, ": ", cudaGetErrorString(e));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    live_[p] = size;
    return p;
  }

  // The block goes to the cache: work queued on the stream that still reads it runs before any
  // later kernel that reuses it (one stream), so no synchronisation is needed here.
  void deallocate(void* p) noexcept {
    if (p == nullptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(p);
    if (it == live_.end()) return;
    const std::size_t size = it->second;
    live_.erase(it);
    try {
      free_[size].push_back(p);
      cached_ += size;
    } catch (...) {
      cudaFree(p);
    }
  }

  void release_all() noexcept {
    cudaStreamSynchronize(stream_);
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_)
      for (void* b : blocks) cudaFree(b);
    free_.clear();
    cached_ = 0;
    cudaGetLastError();
  }
  std::size_t cached_bytes() const { return cached_; }

 private:
  explicit Context(int dev) : device_(dev) {
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  }
  // 256-byte multiples; large sizes rounded to one of 8 classes per power of two.
  static std::size_t size_class(std::size_t bytes) {
    std::size_t s = (bytes + 255) / 256 * 256;
    if (s < (std::size_t(1) << 20)) return s;
    const std::size_t p = std::size_t(1) << (63 - __builtin_clzll(s));
    const std::size_t step = p / 8;
    return (s + step - 1) / step * step;
  }

  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  std::mutex mutex_;
  std::map<std::size_t, std::vector<void*>> free_;
  std::unordered_map<void*, std::size_t> live_;
  std::size_t cached_ = 0;
};

}  // namespace detail_cuda

// Number of CUDA devices this process can use (0 without a device or a driver).
inline int cuda_device_count() noexcept { return detail_cuda::device_count_noexcept(); }

// Throws ras::Error("no CUDA device found") when there is no usable device.
inline void require_cuda_device() {
  if (cuda_device_count() == 0) detail::throw_error("no CUDA device found");
}

// Name of the current device ("NVIDIA H200"), for logs.
inline std::string cuda_device_name() {
  require_cuda_device();
  int dev = 0;
  detail_cuda::check(cudaGetDevice(&dev), "cudaGetDevice");
  cudaDeviceProp prop{};
  detail_cuda::check(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties");
  return prop.name;
}

// The stream of the current device on which every kernel and copy of the library is queued.
inline cudaStream_t cuda_stream() { return detail_cuda::Context::current().stream(); }

inline void* Cuda::allocate(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  static const bool have_device = cuda_device_count() > 0;
  if (!have_device) detail::throw_error("no CUDA device found");
  return detail_cuda::Context::current().allocate(bytes);
}

inline void Cuda::deallocate(void* p) noexcept {
  if (p == nullptr) return;
  try {
    detail_cuda::Context::current().deallocate(p);
  } catch (...) {
  }
}

inline void Cuda::release_cached_memory() noexcept {
  try {
    detail_cuda::Context::current().release_all();
  } catch (...) {
  }
}

inline void Cuda::copy(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0 || dst == src) return;
  detail_cuda::check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cuda_stream()),
                     "cudaMemcpyAsync (device to device)");
}

// Host memory is pageable: the copy is queued after earlier work and waited for, so the caller may
// reuse or free `src` as soon as this returns.
inline void Cuda::copy_from_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  const cudaStream_t s = cuda_stream();
  detail_cuda::check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s), "cudaMemcpyAsync (host to device)");
  detail_cuda::check(cudaStreamSynchronize(s), "cudaStreamSynchronize after a host-to-device copy");
}

inline void Cuda::copy_to_host(void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  const cudaStream_t s = cuda_stream();
  detail_cuda::check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync (device to host)");
  detail_cuda::check(cudaStreamSynchronize(s), "cudaStreamSynchronize after a device-to-host copy");
}

inline void Cuda::synchronize() {
  detail_cuda::check(cudaStreamSynchronize(cuda_stream()), "cudaStreamSynchronize");
}

}  // namespace ras
