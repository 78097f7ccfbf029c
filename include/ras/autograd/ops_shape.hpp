// ras/autograd/ops_shape.hpp — shape autograd ops: reshape (a copy; one extent may be -1),
// permute, transpose, concat, slice along an axis, and embedding lookup. They mirror
// torch.reshape, Tensor.permute, torch.transpose, torch.cat, x.narrow / x[..., start:stop, ...]
// and F.embedding (whose backward scatter-adds repeated indices). Outputs are always fresh
// contiguous tensors. Axes follow PyTorch: -R <= axis < R, negative counts from the end.
// Every backward ADDS into the inputs' gradients.
#pragma once

#include <algorithm>
#include <array>
#include <memory>
#include <type_traits>
#include <vector>

#include "ras/autograd/var.hpp"
#include "ras/kernels/elementwise.hpp"
#include "ras/kernels/layout.hpp"
#include "ras/kernels/memory.hpp"
#include "ras/kernels/reduce.hpp"

namespace ras::autograd {


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
    kernels::permute_gather<S, R, D>(x.shape(), perm, x.value().data(), y.data());
    auto out = make_output(std::move(y), x);
    std::array<int, R> p = perm;
    record(out, [x, p](const Tensor<S, R, D>& dy) {
      if (x.requires_grad())
        kernels::permute_scatter_acc<S, R, D>(x.shape(), p, dy.data(), x.grad().data());
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
    kernels::axis_block_copy<S, D>(sp.outer, sp.inner, len, xs[k].value().data(), len, 0, y.data(),
                                  sp.len, off, false);
    off += len;
  }
  Var<S, R, D> out(std::move(y), grad_mode_enabled() && any_grad);
  record(out, [xs, offsets, sp, axis](const Tensor<S, R, D>& dy) {
    for (std::size_t k = 0; k < xs.size(); ++k) {
      if (!xs[k].requires_grad()) continue;
      const Index len = xs[k].dim(axis);
      kernels::axis_block_copy<S, D>(sp.outer, sp.inner, len, dy.data(), sp.len, offsets[k],
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
  kernels::axis_block_copy<S, D>(sp.outer, sp.inner, len, x.value().data(), dim, start, y.data(), len,
                                0, false);
  auto out = make_output(std::move(y), x);
  record(out, [x, sp, start, len, dim](const Tensor<S, R, D>& dy) {
    if (x.requires_grad())
      kernels::axis_block_copy<S, D>(sp.outer, sp.inner, len, dy.data(), len, 0, x.grad().data(), dim,
                                    start, true);
  });
  return out;
}

// table: (num, dim), idx: n indices in [0, num) -> (n, dim), row i = table[idx[i]].
// Backward scatter-adds (repeated indices accumulate), as F.embedding.
template <class S, class D>
inline Var<S, 2, D> embedding(const Var<S, 2, D>& table, const std::vector<Index>& idx) {
  const Index num = table.dim(0), dim = table.dim(1), n = static_cast<Index>(idx.size());
  for (Index i = 0; i < n; ++i)
    RAS_CHECK(idx[static_cast<std::size_t>(i)] >= 0 && idx[static_cast<std::size_t>(i)] < num,
              "embedding: index ", idx[static_cast<std::size_t>(i)], " at position ", i,
              " is out of range for a table of shape ", shape_string(table.shape()),
              " (expected 0 <= index < ", num, ")");
  auto index = std::make_shared<Tensor<Index, 1, D>>(Tensor<Index, 1, D>::from({n}, idx));
  auto y = Tensor<S, 2, D>::uninitialized({n, dim});
  kernels::gather_rows<S, D>(n, dim, index->data(), table.value().data(), y.data());
  auto out = make_output(std::move(y), table);
  record(out, [table, index, n, dim](const Tensor<S, 2, D>& dy) {
    if (table.requires_grad())
      kernels::scatter_add_rows<S, D>(n, dim, index->data(), dy.data(), table.grad().data());
  });
  return out;
}

}  // namespace ras::autograd
