// ras/tensor_eigen.hpp — Eigen views of ras tensors for kernel code: an Eigen::TensorMap of any
// rank (row-major, as ras stores data) and a row-major matrix Map of a rank-2 tensor. Include it
// only in kernels that use Eigen expressions (the Tensor module costs compile time); never return
// Eigen expression types from public functions.
#pragma once

#include <Eigen/Core>
#include <unsupported/Eigen/CXX11/Tensor>

#include "ras/tensor.hpp"

namespace ras {

template <class S, int R>
using EigenTensorMap = Eigen::TensorMap<Eigen::Tensor<S, R, Eigen::RowMajor, Eigen::DenseIndex>, Eigen::Aligned>;
template <class S, int R>
using ConstEigenTensorMap =
    Eigen::TensorMap<Eigen::Tensor<const S, R, Eigen::RowMajor, Eigen::DenseIndex>, Eigen::Aligned>;

// t: any shape -> an Eigen::TensorMap over the same (64-byte aligned) memory.
template <class S, int R>
inline EigenTensorMap<S, R> eigen_map(Tensor<S, R>& t) {
  std::array<Eigen::DenseIndex, R> dims{};
  for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = t.dim(i);
  return EigenTensorMap<S, R>(t.data(), dims);
}
template <class S, int R>
inline ConstEigenTensorMap<S, R> eigen_map(const Tensor<S, R>& t) {
  std::array<Eigen::DenseIndex, R> dims{};
  for (int i = 0; i < R; ++i) dims[static_cast<std::size_t>(i)] = t.dim(i);
  return ConstEigenTensorMap<S, R>(t.data(), dims);
}

template <class S>
using MatrixMap = Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, Eigen::Aligned64>;
template <class S>
using ConstMatrixMap =
    Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, Eigen::Aligned64>;

// t: (rows, cols) -> a row-major Eigen matrix Map.
template <class S>
inline MatrixMap<S> matrix_map(Tensor<S, 2>& t) {
  return MatrixMap<S>(t.data(), t.dim(0), t.dim(1));
}
template <class S>
inline ConstMatrixMap<S> matrix_map(const Tensor<S, 2>& t) {
  return ConstMatrixMap<S>(t.data(), t.dim(0), t.dim(1));
}

}  // namespace ras
