// ras/kernels/cuda/common.cuh — the Cuda backend: its tag, Backend<Cuda>, and the launch helpers
// its kernels share (nvcc only, RAS_WITH_CUDA; needs --extended-lambda). Every kernel is queued on
// ras::cuda_stream(); launch errors become ras::Error naming the kernel.
//
// Determinism: no floating-point atomics anywhere. Reductions are block trees of fixed shape
// (256 threads, a grid that depends only on the sizes) followed by one final block, so a result
// is bit-reproducible run to run on the same GPU; scatters (conv / pooling / bilinear backward,
// scatter_add_rows) are written as gathers over the outputs that touch each input, or as loops in
// index order.
#pragma once

#if !defined(__CUDACC__)
#error "ras/kernels/cuda/*.cuh are CUDA sources: compile with nvcc (RAS_WITH_CUDA builds)"
#endif

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <vector>

#include "ras/config.hpp"
#include "ras/device.hpp"
#include "ras/device_cuda.hpp"
#include "ras/kernels/backend.hpp"
#include "ras/shape.hpp"

namespace ras::kernels {
namespace cuda {
struct Tag {};
}  // namespace cuda

template <>
struct Backend<Cuda> : OverloadBackend<cuda::Tag> {};

namespace cuda {

inline constexpr int block_threads = 256;

inline cudaStream_t stream() { return cuda_stream(); }

// Throws ras::Error when the last launch failed.
inline void check_launch(const char* kernel) { detail_cuda::check(cudaGetLastError(), kernel); }

// Blocks of block_threads for n work items (grid-stride loops cover the rest).
inline unsigned grid_for(Index n, Index max_blocks = Index(1) << 20) {
  const Index b = (n + block_threads - 1) / block_threads;
  return static_cast<unsigned>(std::max<Index>(1, std::min(b, max_blocks)));
}

template <class F>
__global__ void for_each_kernel(Index n, F f) {
  for (Index i = Index(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += Index(gridDim.x) * blockDim.x) f(i);
}

// f(i) for every i in [0, n) (f a __device__ lambda; iterations independent, each writes index i only).
template <class F>
inline void for_each_index(Index n, F f, const char* kernel) {
  if (n <= 0) return;
  for_each_kernel<<<grid_for(n), block_threads, 0, stream()>>>(n, f);
  check_launch(kernel);
}

// Sum of v over the block (blockDim.x == block_threads), valid in every thread. Fixed tree: warp
// shuffles, then the 8 warp sums by warp 0.
template <class A>
__device__ inline A block_sum(A v) {
  __shared__ A warp_sums[block_threads / 32];
  __shared__ A total;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    A s = lane < block_threads / 32 ? warp_sums[lane] : A(0);
    for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
    if (lane == 0) total = s;
  }
  __syncthreads();
  const A r = total;
  __syncthreads();  // total and warp_sums may be reused by the next call
  return r;
}

// Largest of v over the block, ignoring NaN (-inf when every v is -inf or NaN), in every thread.
template <class A>
__device__ inline A block_max(A v) {
  __shared__ A warp_max[block_threads / 32];
  __shared__ A total;
  auto mx = [](A a, A b) { return b > a ? b : a; };  // a NaN b is dropped; a is never NaN here
  for (int o = 16; o > 0; o >>= 1) v = mx(v, __shfl_down_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) warp_max[warp] = v;
  __syncthreads();
  if (warp == 0) {
    A s = lane < block_threads / 32 ? warp_max[lane] : -std::numeric_limits<A>::infinity();
    for (int o = 16; o > 0; o >>= 1) s = mx(s, __shfl_down_sync(0xffffffffu, s, o));
    if (lane == 0) total = s;
  }
  __syncthreads();
  const A r = total;
  __syncthreads();
  return r;
}

// Scratch device memory (from Cuda's caching allocator), freed at scope end.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(Index n) : n_(n) {
    if (n > 0) p_ = static_cast<T*>(Cuda::allocate(static_cast<std::size_t>(n) * sizeof(T)));
  }
  ~DeviceBuffer() { Cuda::deallocate(p_); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(DeviceBuffer&&) = delete;
  T* get() const { return p_; }
  Index size() const { return n_; }

 private:
  T* p_ = nullptr;
  Index n_ = 0;
};

// A host array copied to the device (small tables: bilinear taps).
template <class T>
inline DeviceBuffer<T> to_device(const std::vector<T>& host) {
  DeviceBuffer<T> buf(static_cast<Index>(host.size()));
  if (!host.empty()) Cuda::copy_from_host(buf.get(), host.data(), host.size() * sizeof(T));
  return buf;
}

// ---- full reductions to the host ---------------------------------------------------------------

template <class A, class F>
__global__ void partial_sums_kernel(Index n, F f, A* partial) {
  A s = A(0);
  for (Index i = Index(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += Index(gridDim.x) * blockDim.x) s += f(i);
  s = block_sum(s);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

template <class A>
__global__ void final_sum_kernel(Index n, const A* partial, A* out) {
  A s = A(0);
  for (Index i = threadIdx.x; i < n; i += blockDim.x) s += partial[i];
  s = block_sum(s);
  if (threadIdx.x == 0) *out = s;
}

// sum over i in [0, n) of f(i) in A, returned on the host (waits for the stream). The grid (at
// most 1024 blocks) depends only on n: reproducible.
template <class A, class F>
inline A reduce_sum_to_host(Index n, F f, const char* kernel) {
  if (n <= 0) return A(0);
  const unsigned blocks = grid_for(n, 1024);
  DeviceBuffer<A> partial(Index(blocks) + 1);
  partial_sums_kernel<A><<<blocks, block_threads, 0, stream()>>>(n, f, partial.get());
  check_launch(kernel);
  final_sum_kernel<A><<<1, block_threads, 0, stream()>>>(Index(blocks), partial.get(), partial.get() + blocks);
  check_launch(kernel);
  A result;
  Cuda::copy_to_host(&result, partial.get() + blocks, sizeof(A));
  return result;
}

// ---- segmented reductions: one block per segment -------------------------------------------------

template <class A, class F, class Out>
__global__ void segment_sum_kernel(Index segments, Index len, F f, Out out) {
  for (Index s = blockIdx.x; s < segments; s += gridDim.x) {
    A acc = A(0);
    for (Index j = threadIdx.x; j < len; j += blockDim.x) acc += f(s, j);
    acc = block_sum(acc);
    if (threadIdx.x == 0) out(s, acc);
  }
}

// For each segment s: out(s, sum over j in [0, len) of f(s, j)) (sums in A; f and out __device__).
template <class A, class F, class Out>
inline void segment_sum(Index segments, Index len, F f, Out out, const char* kernel) {
  if (segments <= 0) return;
  const unsigned blocks = static_cast<unsigned>(std::min<Index>(segments, 65535));
  segment_sum_kernel<A><<<blocks, block_threads, 0, stream()>>>(segments, len, f, out);
  check_launch(kernel);
}

}  // namespace cuda
}  // namespace ras::kernels
