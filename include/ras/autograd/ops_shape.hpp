// ras/autograd/ops_shape.hpp — shape autograd ops: reshape (a copy; one extent may be -1),
// permute, transpose, concat, slice along an axis, and embedding lookup. They mirror
// torch.reshape, Tensor.permute, torch.transpose, torch.cat, x.narrow / x[..., start:stop, ...]
// and F.embedding (whose backward scatter-adds repeated indices). Outputs are always fresh
// contiguous tensors. Axes follow PyTorch: -R <= axis < R, negative counts from the end.
// Every backward ADDS into the inputs' gradients.
#pragma once

#include <algorithm>
#include <array>
#include <type_traits>
#include <vector>

#include "ras/autograd/var.hpp"
#include "ras/kernels/elementwise.hpp"
#include "ras/kernels/reduce.hpp"

namespace ras::autograd {

namespace detail {
// Walks out = in.permute(perm) (out extent k = in extent perm[k]; both contiguous) row by row:
// f(r, base, last, last_stride) for output row r (elements r*last .. r*last+last-1), whose
// element j sits at input offset base + j * last_stride. Parallel over output rows.
template <int R, class F>
inline void permute_rows(const Shape<R>& in_shape, const std::array<int, R>& perm, F&& f) {
  const auto in_strides = row_major_strides(in_shape);
  Shape<R> out_shape{}, stride{};  // stride[k]: input stride of output axis k
  for (int k = 0; k < R; ++k) {
    out_shape[static_cast<std::size_t>(k)] = in_shape[static_cast<std::size_t>(perm[k])];
    stride[static_cast<std::size_t>(k)] = in_strides[static_cast<std::size_t>(perm[k])];
  }
  const Index last = out_shape[R - 1], last_stride = stride[R - 1];
  const Index total = numel(out_shape);
  const Index rows = last == 0 ? 0 : total / last;
#pragma omp parallel for schedule(static) if (total >= kernels::parallel_grain)
  for (Index r = 0; r < rows; ++r) {
    Index rem = r, base = 0;
    for (int k = R - 2; k >= 0; --k) {
      const Index e = out_shape[static_cast<std::size_t>(k)];
      base += (rem % e) * stride[static_cast<std::size_t>(k)];
      rem /= e;
    }
    f(r, base, last, last_stride);
  }
}

// in: in_shape -> out = in.permute(perm)
template <class S, int R, class D>
inline void permute_gather(const Shape<R>& in_shape, const std::array<int, R>& perm, const S* in, S* out) {
  static_assert(is_cpu_device<D>, "permute: only the Cpu device is implemented");
  permute_rows<R>(in_shape, perm, [=](Index r, Index base, Index last, Index st) {
    S* o = out + r * last;
    for (Index j = 0; j < last; ++j) o[j] = in[base + j * st];
  });
}

// Gradient of permute: gin[f(o)] += gout[o]. f is a bijection, so rows never collide.
template <class S, int R, class D>
inline void permute_scatter_acc(const Shape<R>& in_shape, const std::array<int, R>& perm, const S* gout,
                                S* gin) {
  static_assert(is_cpu_device<D>, "permute: only the Cpu device is implemented");
  permute_rows<R>(in_shape, perm, [=](Index r, Index base, Index last, Index st) {
    const S* o = gout + r * last;
    for (Index j = 0; j < last; ++j) gin[base + j * st] += o[j];
  });
}

// For a block copy along an axis: dst[o, dst_off + l, i] (+)= src[o, src_off + l, i] for
// l < len, with src and dst of extents src_len / dst_len along the axis.
template <class S, class D>
inline void axis_block_copy(Index outer, Index inner, Index len, const S* src, Index src_len,
                            Index src_off, S* dst, Index dst_len, Index dst_off, bool accumulate) {
  static_assert(is_cpu_device<D>, "concat/slice: only the Cpu device is implemented");
  const Index chunk = len * inner;
#pragma omp parallel for schedule(static) if (outer * chunk >= kernels::parallel_grain && outer > 1)
  for (Index o = 0; o < outer; ++o) {
    const S* s = src + (o * src_len + src_off) * inner;
    S* d = dst + (o * dst_len + dst_off) * inner;
    if (accumulate) {
#pragma omp simd
      for (Index i = 0; i < chunk; ++i) d[i] += s[i];
    } else {
      std::copy(s, s + chunk, d);
    }
  }
}
}  // namespace detail

// x: (...) -> shape (same element count; at most one extent may be -1 and is then inferred).
// Usage: reshape<2>(x, {n, -1}). The output is a copy.
template <int R2, class S, int R, class D>
inline Var<S, R2, D> reshape(const Var<S, R, D>& x, const std::type_identity_t<Shape<R2>>& shape) {
  Shape<R2> s = shape;
  int inferred = -1;
  Index known = 1;
  for (int i = 0; i < R2; ++i) {
    const Index e = s[static_cast<std::size_t>(i)];
    if (e == -1) {
      RAS_CHECK(inferred < 0, "reshape: only one extent may be -1 but got shape ", shape_string(shape));
      inferred = i;
    } else {
      RAS_CHECK(e >= 0, "reshape: invalid extent ", e, " in shape ", shape_string(shape));
      known *= e;
    }
  }
  if (inferred >= 0) {
    RAS_CHECK(known != 0 && x.numel() % known == 0, "reshape: cannot reshape ",
              shape_string(x.shape()), " to ", shape_string(shape));
    s[static_cast<std::size_t>(inferred)] = x.numel() / known;
  }
  RAS_CHECK(numel(s) == x.numel(), "reshape: cannot reshape ", shape_string(x.shape()), " to ",
            shape_string(shape), " (element counts ", x.numel(), " and ", numel(s), " differ)");
  auto out = make_output(x.value().clone().template reshape<R2>(s), x);
  record(out, [x](const Tensor<S, R2, D>& dy) {
    if (x.requires_grad()) kernels::axpy_acc<S, D>(dy.numel(), S(1), dy.data(), x.grad().data());
  });
  return out;
}

// x: (d0, ..., d_{R-1}) -> (d_perm[0], ..., d_perm[R-1]); perm must be a permutation of 0..R-1.
template <class S, int R, class D>
inline Var<S, R, D> permute(const Var<S, R, D>& x, const std::type_identity_t<std::array<int, R>>& perm) {
  std::array<bool, R> seen{};
  auto perm_string = [&] {
    std::vector<Index> p(perm.begin(), perm.end());
    return shape_string(p);
  };
  for (int k = 0; k < R; ++k) {
    const int p = perm[static_cast<std::size_t>(k)];
    RAS_CHECK(p >= 0 && p < R && !seen[static_cast<std::size_t>(p)], "permute: ", perm_string(),
              " is not a permutation of the ", R, " axes of x of shape ", shape_string(x.shape()));
    seen[static_cast<std::size_t>(p)] = true;
  }
  if constexpr (R == 0) {
    return reshape<0>(x, Shape<0>{});  // nothing to permute: a copy
  } else {
    Shape<R> out_shape{};
    for (int k = 0; k < R; ++k)
      out_shape[static_cast<std::size_t>(k)] = x.dim(perm[static_cast<std::size_t>(k)]);
    auto y = Tensor<S, R, D>::uninitialized(out_shape);
    detail::permute_gather<S, R, D>(x.shape(), perm, x.value().data(), y.data());
    auto out = make_output(std::move(y), x);
    std::array<int, R> p = perm;
    record(out, [x, p](const Tensor<S, R, D>& dy) {
      if (x.requires_grad())
        detail::permute_scatter_acc<S, R, D>(x.shape(), p, dy.data(), x.grad().data());
    });
    return out;
  }
}

// x: (...) -> x with axes i and j swapped
template <class S, int R, class D>
inline Var<S, R, D> transpose(const Var<S, R, D>& x, int i, int j) {
  i = kernels::normalize_axis("transpose", i, x.shape());
  j = kernels::normalize_axis("transpose", j, x.shape());
  std::array<int, R> perm{};
  for (int k = 0; k < R; ++k) perm[static_cast<std::size_t>(k)] = k;
  std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(j)]);
  return permute(x, perm);
}

// xs: k tensors that agree on every extent but `axis` -> their concatenation along `axis`
template <class S, int R, class D>
inline Var<S, R, D> concat(const std::vector<Var<S, R, D>>& xs, int axis) {
  static_assert(R >= 1, "concat: inputs need at least one dimension");
  RAS_CHECK(!xs.empty(), "concat: expected at least one input but got none");
  const Shape<R> first = xs[0].shape();
  axis = kernels::normalize_axis("concat", axis, first);
  Shape<R> out_shape = first;
  out_shape[static_cast<std::size_t>(axis)] = 0;
  bool any_grad = false;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const Shape<R>& s = xs[k].shape();
    for (int d = 0; d < R; ++d)
      RAS_CHECK(d == axis || s[static_cast<std::size_t>(d)] == first[static_cast<std::size_t>(d)],
                "concat: along axis ", axis, " input 0 has shape ", shape_string(first), " but input ",
                k, " has shape ", shape_string(s), " (extent ", d, " differs)");
    out_shape[static_cast<std::size_t>(axis)] += s[static_cast<std::size_t>(axis)];
    any_grad = any_grad || xs[k].requires_grad();
  }
  const auto sp = kernels::split_at_axis(out_shape, axis);
  auto y = Tensor<S, R, D>::uninitialized(out_shape);
  std::vector<Index> offsets(xs.size());
  Index off = 0;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const Index len = xs[k].dim(axis);
    offsets[k] = off;
    detail::axis_block_copy<S, D>(sp.outer, sp.inner, len, xs[k].value().data(), len, 0, y.data(),
                                  sp.len, off, false);
    off += len;
  }
  Var<S, R, D> out(std::move(y), grad_mode_enabled() && any_grad);
  record(out, [xs, offsets, sp, axis](const Tensor<S, R, D>& dy) {
    for (std::size_t k = 0; k < xs.size(); ++k) {
      if (!xs[k].requires_grad()) continue;
      const Index len = xs[k].dim(axis);
      detail::axis_block_copy<S, D>(sp.outer, sp.inner, len, dy.data(), sp.len, offsets[k],
                                    xs[k].grad().data(), len, 0, true);
    }
  });
  return out;
}

// x: (..., d_axis, ...) -> (..., stop - start, ...): elements start <= i < stop along `axis`
template <class S, int R, class D>
inline Var<S, R, D> slice(const Var<S, R, D>& x, int axis, Index start, Index stop) {
  static_assert(R >= 1, "slice: x needs at least one dimension");
  axis = kernels::normalize_axis("slice", axis, x.shape());
  const Index dim = x.dim(axis);
  RAS_CHECK(0 <= start && start <= stop && stop <= dim, "slice: expected 0 <= start <= stop <= ", dim,
            " along axis ", axis, " of x of shape ", shape_string(x.shape()), " but got start=", start,
            " stop=", stop);
  const auto sp = kernels::split_at_axis(x.shape(), axis);
  Shape<R> out_shape = x.shape();
  out_shape[static_cast<std::size_t>(axis)] = stop - start;
  auto y = Tensor<S, R, D>::uninitialized(out_shape);
  const Index len = stop - start;
  detail::axis_block_copy<S, D>(sp.outer, sp.inner, len, x.value().data(), dim, start, y.data(), len,
                                0, false);
  auto out = make_output(std::move(y), x);
  record(out, [x, sp, start, len, dim](const Tensor<S, R, D>& dy) {
    if (x.requires_grad())
      detail::axis_block_copy<S, D>(sp.outer, sp.inner, len, dy.data(), len, 0, x.grad().data(), dim,
                                    start, true);
  });
  return out;
}

// table: (num, dim), idx: n indices in [0, num) -> (n, dim), row i = table[idx[i]].
// Backward scatter-adds (repeated indices accumulate), as F.embedding.
template <class S, class D>
inline Var<S, 2, D> embedding(const Var<S, 2, D>& table, const std::vector<Index>& idx) {
  static_assert(is_cpu_device<D>, "embedding: only the Cpu device is implemented");
  const Index num = table.dim(0), dim = table.dim(1), n = static_cast<Index>(idx.size());
  for (Index i = 0; i < n; ++i)
    RAS_CHECK(idx[static_cast<std::size_t>(i)] >= 0 && idx[static_cast<std::size_t>(i)] < num,
              "embedding: index ", idx[static_cast<std::size_t>(i)], " at position ", i,
              " is out of range for a table of shape ", shape_string(table.shape()),
              " (expected 0 <= index < ", num, ")");
  auto y = Tensor<S, 2, D>::uninitialized({n, dim});
  const S* t = table.value().data();
  S* yd = y.data();
#pragma omp parallel for schedule(static) if (n * dim >= kernels::parallel_grain)
  for (Index i = 0; i < n; ++i) {
    const S* row = t + idx[static_cast<std::size_t>(i)] * dim;
    std::copy(row, row + dim, yd + i * dim);
  }
  auto out = make_output(std::move(y), table);
  record(out, [table, idx, dim](const Tensor<S, 2, D>& dy) {
    if (!table.requires_grad()) return;
    S* g = table.grad().data();
    // Serial over positions (repeated indices write the same row), vectorised along dim.
    for (std::size_t i = 0; i < idx.size(); ++i) {
      S* gr = g + idx[i] * dim;
      const S* dr = dy.data() + static_cast<Index>(i) * dim;
#pragma omp simd
      for (Index j = 0; j < dim; ++j) gr[j] += dr[j];
    }
  });
  return out;
}

}  // namespace ras::autograd
