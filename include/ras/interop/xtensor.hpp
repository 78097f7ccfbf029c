// ras/interop/xtensor.hpp — zero-copy views between ras tensors and xtensor (Debian libxtensor-dev,
// xtensor 0.24): ras::Tensor / TensorView -> an xt::adapt adaptor over the same memory (mirrors
// xt::adapt(ptr, size, xt::no_ownership(), shape)), and an xt::xtensor / xt::xarray (or any xtensor
// container or adaptor with data(), shape() and strides()) -> ras::TensorView. ras memory is
// contiguous row-major, so the xtensor side must be too: the rank, the layout and the strides are
// checked (xtensor stores stride 0 for extents of 1, which is accepted) and refused with an error
// that names expected and actual values. Header-only; include it only where xtensor is available
// (find_package(xtensor) in CMake). Nothing is copied: a view lives only as long as its owner.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <type_traits>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>

#include "ras/config.hpp"
#include "ras/tensor.hpp"

namespace ras::interop {

namespace detail {
template <class Seq>
inline std::string seq_string(const Seq& s) {
  std::string out = "(";
  std::size_t i = 0;
  for (auto v : s) out += (i++ ? ", " : "") + std::to_string(static_cast<long long>(v));
  return out + ")";
}
}  // namespace detail

// A ras view -> an xtensor adaptor of the same rank over the same memory (writable when S is not
// const). The result is an xt::xtensor_adaptor: xtensor expressions, views and assignment work on it.
template <class S, int R>
inline auto to_xtensor(TensorView<S, R> v) {
  std::array<std::size_t, static_cast<std::size_t>(R)> shape{};
  for (int i = 0; i < R; ++i) shape[static_cast<std::size_t>(i)] = static_cast<std::size_t>(v.dim(i));
  return xt::adapt(v.data(), static_cast<std::size_t>(v.numel()), xt::no_ownership(), shape);
}
template <class S, int R, class D>
inline auto to_xtensor(Tensor<S, R, D>& t) {
  static_assert(is_host_device<D>, "to_xtensor: only host-memory tensors can be viewed (copy with to<Cpu>() first)");
  return to_xtensor(t.view());
}
template <class S, int R, class D>
inline auto to_xtensor(const Tensor<S, R, D>& t) {
  static_assert(is_host_device<D>, "to_xtensor: only host-memory tensors can be viewed (copy with to<Cpu>() first)");
  return to_xtensor(TensorView<const S, R>(t.data(), t.shape()));
}
template <class S, int R, class D>
inline auto to_xtensor(Tensor<S, R, D>&&) = delete;  // a view of a temporary would dangle

// An xtensor container or adaptor (xt::xtensor<T, N>, xt::xarray<T>, xt::adapt(...)) -> a rank-R
// ras view of its memory (const T when the expression is const). Throws ras::Error when the rank
// differs from R, the layout is not row-major or the strides are not those of a contiguous
// row-major array (the layout of a column-major or strided expression is named in the error).
template <int R, class E>
inline auto from_xtensor(E& e) {
  using T = std::remove_reference_t<decltype(*e.data())>;
  static_assert(R >= 0, "from_xtensor: the rank must be >= 0");
  const auto& shape = e.shape();
  RAS_CHECK(shape.size() == static_cast<std::size_t>(R), "from_xtensor: expected a rank-", R,
            " xtensor expression but got rank ", shape.size(), " with shape ", detail::seq_string(shape));
  // The strides decide (a dynamic-layout adaptor with row-major strides is fine); the layout names the problem.
  const auto& strides = e.strides();
  const char* layout = e.layout() == xt::layout_type::row_major      ? "row-major"
                       : e.layout() == xt::layout_type::column_major ? "column-major"
                                                                     : "dynamic";
  std::size_t expected = 1;
  for (int i = R - 1; i >= 0; --i) {
    const auto n = static_cast<std::size_t>(shape[static_cast<std::size_t>(i)]);
    const auto s = static_cast<std::ptrdiff_t>(strides[static_cast<std::size_t>(i)]);
    RAS_CHECK(n == 1 || s == static_cast<std::ptrdiff_t>(expected), "from_xtensor: expected contiguous row-major "
              "strides (ras stores tensors row-major) for shape ", detail::seq_string(shape), " but axis ", i,
              " has stride ", s, " instead of ", expected, " (strides ", detail::seq_string(strides), ", ", layout,
              " layout); copy it into an xt::xtensor<T, N> first");
    expected *= n;
  }
  Shape<R> s{};
  for (int i = 0; i < R; ++i) s[static_cast<std::size_t>(i)] = static_cast<Index>(shape[static_cast<std::size_t>(i)]);
  return TensorView<T, R>(e.data(), s);
}
template <int R, class E>
inline auto from_xtensor(E&&) = delete;  // a view of a temporary would dangle; pass an lvalue

}  // namespace ras::interop
