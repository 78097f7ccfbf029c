// ras/interop/eigen.hpp — zero-copy views between ras rank-2 tensors and Eigen matrices, the user-facing
// counterpart of ras/tensor_eigen.hpp (which kernels use): ras -> Eigen is ras::matrix_map (a
// row-major Eigen::Map, re-exported here), Eigen -> ras is from_eigen (a TensorView over the
// matrix's memory). Mirrors Eigen::Map in the other direction. The Eigen side must be contiguous
// and row-major (Eigen::RowMajor, inner stride 1, outer stride = cols); a column-major matrix with
// more than one row and column is refused with an error naming its shape and strides.
#pragma once

#include <type_traits>

#include <Eigen/Core>

#include "ras/config.hpp"
#include "ras/tensor.hpp"
#include "ras/tensor_eigen.hpp"

namespace ras::interop {

using ras::matrix_map;  // Tensor<S, 2> -> Eigen::Map<row-major matrix>

// An Eigen matrix, Map or Ref with direct access (data(), strides) -> a (rows, cols) ras view.
template <class Derived>
inline auto from_eigen(Eigen::PlainObjectBase<Derived>& m) {
  using T = typename Derived::Scalar;
  constexpr bool row_major = Derived::IsRowMajor;
  RAS_CHECK(row_major || m.rows() == 1 || m.cols() == 1, "from_eigen: expected a row-major matrix (Eigen::RowMajor, "
            "as ras stores tensors) but got a column-major ", m.rows(), "x", m.cols(), " matrix; declare it "
            "Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> or copy it into one");
  return TensorView<T, 2>(m.data(), {static_cast<Index>(m.rows()), static_cast<Index>(m.cols())});
}
template <class Derived>
inline auto from_eigen(const Eigen::PlainObjectBase<Derived>& m) {
  using T = const typename Derived::Scalar;
  constexpr bool row_major = Derived::IsRowMajor;
  RAS_CHECK(row_major || m.rows() == 1 || m.cols() == 1, "from_eigen: expected a row-major matrix (Eigen::RowMajor, "
            "as ras stores tensors) but got a column-major ", m.rows(), "x", m.cols(), " matrix; declare it "
            "Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> or copy it into one");
  return TensorView<T, 2>(m.data(), {static_cast<Index>(m.rows()), static_cast<Index>(m.cols())});
}
// Maps (e.g. a block mapped with strides): contiguity is checked at run time.
template <class M, int Options, class StrideT>
inline auto from_eigen(const Eigen::Map<M, Options, StrideT>& m) {
  using T = std::remove_reference_t<decltype(*m.data())>;
  const bool row_major = M::IsRowMajor;
  RAS_CHECK(m.innerStride() == 1 && (m.rows() <= 1 || m.cols() <= 1 || (row_major && m.outerStride() == m.cols())),
            "from_eigen: expected a contiguous row-major map (inner stride 1, outer stride = cols = ", m.cols(),
            ") but got a ", row_major ? "row" : "column", "-major ", m.rows(), "x", m.cols(), " map with inner stride ",
            m.innerStride(), " and outer stride ", m.outerStride());
  return TensorView<T, 2>(m.data(), {static_cast<Index>(m.rows()), static_cast<Index>(m.cols())});
}

}  // namespace ras::interop
