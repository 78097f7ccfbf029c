// ras/cuda.cuh — the Cuda device in one include (RAS_WITH_CUDA builds, nvcc with --extended-lambda,
// --expt-relaxed-constexpr (std::numeric_limits in kernels)
// and -std=c++20; define EIGEN_NO_CUDA so Eigen, used by the Cpu kernels, stays host-only).
// Include it in a .cu translation unit next to the ras headers you use; then every tensor, layer,
// model and optimiser instantiates with D = ras::Cuda:
//
//   #include "ras/model/ras_model.hpp"
//   #include "ras/cuda.cuh"
//   ras::require_cuda_device();                       // ras::Error "no CUDA device found"
//   ras::nn::RasReconstruction<float, ras::Cuda> model(cfg, seed);
//   auto rec = model(features_on_host.to<ras::Cuda>());
//
// Backend<Cuda> (kernels/cuda/common.cuh) runs every kernel of kernels::AllKernels on the library
// stream (ras::cuda_stream()); scalar-returning kernels (sum_all, squared_diff_sum, sum_squares)
// wait for it and return host values.
#pragma once

#if !defined(RAS_WITH_CUDA)
#error "ras/cuda.cuh needs RAS_WITH_CUDA (configure with -DRAS_WITH_CUDA=ON)"
#endif
#if !defined(__CUDACC__)
#error "ras/cuda.cuh holds CUDA kernels: compile this translation unit with nvcc"
#endif

#include "ras/device_cuda.hpp"
#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/cuda/elementwise.cuh"
#include "ras/kernels/cuda/reduce.cuh"
#include "ras/kernels/cuda/gemm.cuh"
#include "ras/kernels/cuda/conv2d.cuh"
#include "ras/kernels/cuda/depthwise.cuh"
#include "ras/kernels/cuda/norm.cuh"
#include "ras/kernels/cuda/pool.cuh"
#include "ras/kernels/cuda/resample.cuh"
#include "ras/kernels/cuda/memory.cuh"
#include "ras/kernels/cuda/layout.cuh"
#include "ras/kernels/cuda/optim.cuh"
#include "ras/kernels/cuda/model.cuh"
