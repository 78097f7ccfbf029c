// ras/tensor.hpp — Tensor<Scalar, Rank, Device>: owning, 64-byte aligned, contiguous, row-major,
// move-only (copies are explicit with clone()), with cheap non-owning views and reshapes.
// Layouts follow PyTorch: NCHW images, OIHW convolution weights, (B, L, C) tokens.
// ShapedTensor<Scalar, Extents<...>, Device> additionally fixes some extents in the type
// (e.g. Extents<dyn, 272, 14, 14>), so a wrong channel count is a compile-time error.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "ras/config.hpp"
#include "ras/device.hpp"
#include "ras/kernels/memory.hpp"
#include "ras/shape.hpp"

namespace ras {

// Largest tensor the library agrees to allocate in one piece (protects against absurd shapes
// read from files). 64 GiB.
inline constexpr Index max_tensor_bytes = Index(1) << 36;

template <int Rank>
inline Index checked_numel(const Shape<Rank>& shape, std::size_t elem_size, const char* what) {
  Index n = 1;
  for (Index e : shape) {
    RAS_CHECK(e >= 0, what, ": extents must be non-negative but got shape ", shape_string(shape));
    if (e != 0 && n > max_tensor_bytes / static_cast<Index>(elem_size) / e)
      detail::throw_error(what, ": shape ", shape_string(shape), " needs more than ",
                          max_tensor_bytes, " bytes");
    n *= e;
  }
  return n;
}

// Non-owning view of contiguous row-major data. S may be const-qualified.
template <class S, int Rank>
class TensorView {
 public:
  using Scalar = S;
  static constexpr int rank = Rank;

  TensorView() = default;
  TensorView(S* data, const Shape<Rank>& shape) : data_(data), shape_(shape) {}
  // A mutable view converts to a const view.
  template <class T, class = std::enable_if_t<std::is_same_v<const T, S> && !std::is_same_v<T, S>>>
  TensorView(const TensorView<T, Rank>& other) : data_(other.data()), shape_(other.shape()) {}

  S* data() const { return data_; }
  const Shape<Rank>& shape() const { return shape_; }
  Index dim(int i) const { return shape_[static_cast<std::size_t>(i)]; }
  Index numel() const { return ras::numel(shape_); }

  template <class... Is>
  S& operator()(Is... is) const {
    static_assert(sizeof...(Is) == Rank, "TensorView: number of indices must equal the rank");
    return data_[offset_of(shape_, static_cast<Index>(is)...)];
  }

  // Same data, new shape of equal element count.
  template <int NewRank>
  TensorView<S, NewRank> reshape(const Shape<NewRank>& shape) const {
    RAS_CHECK(ras::numel(shape) == numel(), "reshape: cannot view shape ", shape_string(shape_),
              " as ", shape_string(shape), " (element counts differ)");
    return TensorView<S, NewRank>(data_, shape);
  }

  template <class... Is>
  static Index offset_of(const Shape<Rank>& shape, Is... is) {
    const Index idx[sizeof...(Is) + 1] = {static_cast<Index>(is)..., 0};
    Index off = 0;
    for (int i = 0; i < Rank; ++i) off = off * shape[static_cast<std::size_t>(i)] + idx[i];
    return off;
  }

 private:
  S* data_ = nullptr;
  Shape<Rank> shape_{};
};

template <class S, int Rank, class D = Cpu>
class Tensor {
  static_assert(Rank >= 0, "Tensor rank must be non-negative");

 public:
  using Scalar = S;
  using Device = D;
  static constexpr int rank = Rank;

  Tensor() = default;
  // Zero-filled tensor of the given shape.
  explicit Tensor(const Shape<Rank>& shape) : Tensor(uninitialized(shape)) { fill(S(0)); }

  static Tensor uninitialized(const Shape<Rank>& shape) {
    Tensor t;
    t.shape_ = shape;
    Index n = checked_numel<Rank>(shape, sizeof(S), "Tensor");
    t.data_.reset(static_cast<S*>(D::allocate(static_cast<std::size_t>(n) * sizeof(S))));
    return t;
  }
  static Tensor zeros(const Shape<Rank>& shape) { return Tensor(shape); }
  static Tensor full(const Shape<Rank>& shape, S value) {
    Tensor t = uninitialized(shape);
    t.fill(value);
    return t;
  }
  // Copies `values` (row-major) into a new tensor; their count must match the shape.
  static Tensor from(const Shape<Rank>& shape, const std::vector<S>& values) {
    Tensor t = uninitialized(shape);
    RAS_CHECK(static_cast<Index>(values.size()) == t.numel(), "Tensor::from: shape ",
              shape_string(shape), " needs ", t.numel(), " values but got ", values.size());
    if constexpr (is_host_device<D>) std::copy(values.begin(), values.end(), t.data());  // also vector<bool>
    else D::copy_from_host(t.data(), values.data(), t.bytes());
    return t;
  }

  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  Tensor clone() const {
    Tensor t = uninitialized(shape_);
    D::copy(t.data(), data(), bytes());
    return t;
  }

  // The value of a one-element tensor, copied to the host (torch's .item()).
  S item() const {
    RAS_CHECK(numel() == 1, "item: expected a one-element tensor but got shape ", shape_string(shape_));
    S v;
    D::copy_to_host(&v, data(), sizeof(S));
    return v;
  }

  // A copy on device D2 (tensor.to<Cpu>(), tensor.to<Cuda>()).
  template <class D2>
  Tensor<S, Rank, D2> to() const {
    auto t = Tensor<S, Rank, D2>::uninitialized(shape_);
    copy_between_devices<D, D2>(t.data(), data(), bytes());
    return t;
  }

  // Rows [begin, begin + n) of the leading axis as a view (no copy; any device).
  TensorView<S, Rank> rows(Index begin, Index n) {
    static_assert(Rank >= 1, "rows: needs a leading axis");
    check_rows(begin, n);
    Shape<Rank> s = shape_;
    s[0] = n;
    return TensorView<S, Rank>(data() + begin * row_size(), s);
  }
  TensorView<const S, Rank> rows(Index begin, Index n) const {
    static_assert(Rank >= 1, "rows: needs a leading axis");
    check_rows(begin, n);
    Shape<Rank> s = shape_;
    s[0] = n;
    return TensorView<const S, Rank>(data() + begin * row_size(), s);
  }
  // Rows [begin, begin + n) as a new tensor (a copy on the same device).
  Tensor slice_rows(Index begin, Index n) const {
    Shape<Rank> s = shape_;
    s[0] = n;
    check_rows(begin, n);
    auto t = uninitialized(s);
    D::copy(t.data(), data() + begin * row_size(), t.bytes());
    return t;
  }
  // Copies src (same extents but the leading one; memory of this device) into rows
  // [begin, begin + src.dim(0)).
  void set_rows(Index begin, TensorView<const S, Rank> src) {
    static_assert(Rank >= 1, "set_rows: needs a leading axis");
    for (int i = 1; i < Rank; ++i)
      RAS_CHECK(src.dim(i) == dim(i), "set_rows: expected rows of shape ", shape_string(shape_),
                " but got ", shape_string(src.shape()));
    check_rows(begin, src.dim(0));
    D::copy(data() + begin * row_size(), src.data(), static_cast<std::size_t>(src.numel()) * sizeof(S));
  }
  void set_rows(Index begin, const Tensor& src) { set_rows(begin, src.view()); }
  // Elements per row of the leading axis.
  Index row_size() const {
    static_assert(Rank >= 1, "row_size: needs a leading axis");
    Index n = 1;
    for (int i = 1; i < Rank; ++i) n *= shape_[static_cast<std::size_t>(i)];
    return n;
  }

  // True for a default-constructed or moved-from tensor (and for zero-element tensors).
  bool empty() const { return data_ == nullptr; }

  S* data() { return data_.get(); }
  const S* data() const { return data_.get(); }
  const Shape<Rank>& shape() const { return shape_; }
  Index dim(int i) const { return shape_[static_cast<std::size_t>(i)]; }
  Index numel() const { return data_ ? ras::numel(shape_) : 0; }
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * sizeof(S); }

  template <class... Is>
  S& operator()(Is... is) {
    static_assert(sizeof...(Is) == Rank, "Tensor: number of indices must equal the rank");
    static_assert(is_host_device<D>, "Tensor: element access needs host memory; copy with to<Cpu>() first");
    return data_.get()[TensorView<S, Rank>::offset_of(shape_, static_cast<Index>(is)...)];
  }
  template <class... Is>
  const S& operator()(Is... is) const {
    static_assert(sizeof...(Is) == Rank, "Tensor: number of indices must equal the rank");
    static_assert(is_host_device<D>, "Tensor: element access needs host memory; copy with to<Cpu>() first");
    return data_.get()[TensorView<S, Rank>::offset_of(shape_, static_cast<Index>(is)...)];
  }
  // Bounds-checked element access.
  template <class... Is>
  S& at(Is... is) {
    check_index(static_cast<Index>(is)...);
    return (*this)(is...);
  }
  template <class... Is>
  const S& at(Is... is) const {
    check_index(static_cast<Index>(is)...);
    return (*this)(is...);
  }

  TensorView<S, Rank> view() { return TensorView<S, Rank>(data(), shape_); }
  TensorView<const S, Rank> view() const { return TensorView<const S, Rank>(data(), shape_); }

  // Moves the buffer into a tensor of another shape with the same element count (no copy).
  template <int NewRank>
  Tensor<S, NewRank, D> reshape(const Shape<NewRank>& shape) && {
    RAS_CHECK(ras::numel(shape) == ras::numel(shape_), "reshape: cannot reshape ",
              shape_string(shape_), " to ", shape_string(shape), " (element counts differ)");
    Tensor<S, NewRank, D> t;
    t.adopt(data_.release(), shape);
    shape_ = Shape<Rank>{};
    return t;
  }
  // Non-owning views with another shape.
  template <int NewRank>
  TensorView<S, NewRank> reshaped(const Shape<NewRank>& shape) {
    return view().template reshape<NewRank>(shape);
  }
  template <int NewRank>
  TensorView<const S, NewRank> reshaped(const Shape<NewRank>& shape) const {
    return view().template reshape<NewRank>(shape);
  }

  void fill(S value) { kernels::fill<S, D>(numel(), value, data()); }

  // Internal: takes ownership of memory allocated by D::allocate.
  void adopt(S* data, const Shape<Rank>& shape) {
    data_.reset(data);
    shape_ = shape;
  }

 private:
  struct Deleter {
    void operator()(S* p) const noexcept { D::deallocate(p); }
  };

  void check_rows(Index begin, Index n) const {
    RAS_CHECK(begin >= 0 && n >= 0 && begin + n <= (Rank >= 1 ? shape_[0] : 1), "rows: rows [", begin, ", ",
              begin + n, ") are out of range for shape ", shape_string(shape_));
  }

  template <class... Is>
  void check_index(Is... is) const {
    const Index idx[sizeof...(Is) + 1] = {static_cast<Index>(is)..., 0};
    for (int i = 0; i < Rank; ++i)
      RAS_CHECK(idx[i] >= 0 && idx[i] < shape_[static_cast<std::size_t>(i)], "Tensor::at: index ",
                idx[i], " out of range for dimension ", i, " of shape ", shape_string(shape_));
  }

  std::unique_ptr<S[], Deleter> data_;
  Shape<Rank> shape_{};
};

// Copies a view of host memory into a new owning tensor on device D.
template <class S, int Rank, class D = Cpu>
inline Tensor<std::remove_const_t<S>, Rank, D> to_tensor(const TensorView<S, Rank>& v) {
  auto t = Tensor<std::remove_const_t<S>, Rank, D>::uninitialized(v.shape());
  D::copy_from_host(t.data(), v.data(), t.bytes());
  return t;
}

template <class S, int Rank, class D>
inline void check_shape(const Tensor<S, Rank, D>& t, const Shape<Rank>& expected, const char* what) {
  check_same_shape<Rank>(expected, t.shape(), what);
}

// A tensor whose type also fixes some extents: ShapedTensor<float, Extents<dyn, 272, 14, 14>>.
// Built from a plain Tensor with a run-time check; converting between two ShapedTensors whose
// fixed extents disagree does not compile.
template <class S, class Ext, class D = Cpu>
class ShapedTensor {
 public:
  using Extents = Ext;
  static constexpr int rank = Ext::rank;
  using Plain = Tensor<S, rank, D>;

  ShapedTensor() = default;
  explicit ShapedTensor(Plain t) : t_(std::move(t)) { Ext::check(t_.shape(), "ShapedTensor"); }
  template <class OtherExt>
  ShapedTensor(ShapedTensor<S, OtherExt, D>&& other) : t_(std::move(other).release()) {
    static_assert(extents_compatible<Ext, OtherExt>,
                  "ShapedTensor: the fixed extents of the two types disagree");
    Ext::check(t_.shape(), "ShapedTensor");
  }

  const Plain& tensor() const { return t_; }
  Plain& tensor() { return t_; }
  Plain release() && { return std::move(t_); }
  // Reads as the plain tensor wherever one is expected (the extents were checked on entry).
  operator const Plain&() const { return t_; }
  const Shape<rank>& shape() const { return t_.shape(); }
  Index dim(int i) const { return t_.dim(i); }
  Index numel() const { return t_.numel(); }
  S* data() { return t_.data(); }
  const S* data() const { return t_.data(); }
  template <class... Is>
  S& operator()(Is... is) {
    return t_(is...);
  }
  template <class... Is>
  const S& operator()(Is... is) const {
    return t_(is...);
  }
  // Extent i; a constant expression when it is fixed in the type.
  template <int I>
  static constexpr Index static_dim() {
    static_assert(Ext::is_static(I), "static_dim: this extent is dynamic");
    return Ext::static_extents[I];
  }

 private:
  Plain t_;
};

}  // namespace ras
