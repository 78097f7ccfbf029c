// ras/autograd/ops_reduce.hpp — reduction autograd ops: sum and mean to a scalar (torch.sum,
// torch.mean), over one axis (dim=axis, keepdim=False; negative axes count from the end), a
// last-axis softmax with an optional additive (Lq, L) mask (torch.softmax(x + mask, -1)), the L2
// norm over an axis (torch.linalg.vector_norm(x, 2, dim)), global average pooling
// (F.adaptive_avg_pool2d(x, 1).flatten(1)) and the mean squared error (torch.nn.MSELoss()).
// Every backward ADDS into the inputs' gradients.
#pragma once

#include <limits>
#include <memory>
#include <type_traits>

#include "ras/autograd/var.hpp"
#include "ras/kernels/elementwise.hpp"
#include "ras/kernels/reduce.hpp"

namespace ras::autograd {

namespace detail {
template <int R>
inline Shape<R - 1> shape_without_axis(const Shape<R>& shape, int axis) {
  Shape<R - 1> out{};
  for (int i = 0, k = 0; i < R; ++i)
    if (i != axis) out[static_cast<std::size_t>(k++)] = shape[static_cast<std::size_t>(i)];
  return out;
}

// sum over `axis`, scaled by alpha (1 for sum, 1/len for mean).
template <class S, int R, class D>
inline Var<S, R - 1, D> scaled_axis_sum(const char* op, const Var<S, R, D>& x, int axis, bool mean) {
  static_assert(R >= 1, "sum_axis/mean_axis: x needs at least one dimension");
  axis = kernels::normalize_axis(op, axis, x.shape());
  const auto sp = kernels::split_at_axis(x.shape(), axis);
  const S alpha = mean ? S(1) / static_cast<S>(sp.len) : S(1);
  auto y = Tensor<S, R - 1, D>::uninitialized(shape_without_axis<R>(x.shape(), axis));
  kernels::sum_axis<S, D>(sp.outer, sp.len, sp.inner, alpha, x.value().data(), y.data(), false);
  auto out = make_output(std::move(y), x);
  record(out, [x, sp, alpha](const Tensor<S, R - 1, D>& dy) {
    if (x.requires_grad())
      kernels::broadcast_axis_acc<S, D>(sp.outer, sp.len, sp.inner, alpha, dy.data(), x.grad().data());
  });
  return out;
}

template <class S, int R, class D>
inline Var<S, 0, D> scaled_total_sum(const Var<S, R, D>& x, bool mean) {
  const Index n = x.numel();
  const S total = kernels::sum_all<S, D>(n, x.value().data());
  auto y = Tensor<S, 0, D>::uninitialized(Shape<0>{});
  // mean of an empty tensor is 0 / 0 = NaN, as in PyTorch
  y.fill(mean ? total / static_cast<S>(n) : total);
  const S alpha = mean ? S(1) / static_cast<S>(n) : S(1);
  auto out = make_output(std::move(y), x);
  record(out, [x, alpha](const Tensor<S, 0, D>& dy) {
    if (x.requires_grad()) {
      S* g = x.grad().data();
      kernels::add_scalar<S, D>(x.numel(), g, alpha * dy.item(), g);
    }
  });
  return out;
}
}  // namespace detail

// x: (...) -> (): the sum of all elements
template <class S, int R, class D>
inline Var<S, 0, D> sum(const Var<S, R, D>& x) {
  return detail::scaled_total_sum(x, false);
}

// x: (...) -> (): the mean of all elements (NaN for an empty tensor)
template <class S, int R, class D>
inline Var<S, 0, D> mean(const Var<S, R, D>& x) {
  return detail::scaled_total_sum(x, true);
}

// x: (d0, ..., d_{R-1}) -> the same without d_axis; -R <= axis < R
template <class S, int R, class D>
inline Var<S, R - 1, D> sum_axis(const Var<S, R, D>& x, int axis) {
  return detail::scaled_axis_sum("sum_axis", x, axis, false);
}

// x: (d0, ..., d_{R-1}) -> the same without d_axis; -R <= axis < R
template <class S, int R, class D>
inline Var<S, R - 1, D> mean_axis(const Var<S, R, D>& x, int axis) {
  return detail::scaled_axis_sum("mean_axis", x, axis, true);
}

// x: (..., Lq, L) -> (..., Lq, L), softmax over the last axis of x + mask.
// mask: (Lq, L) additive, broadcast over every leading dimension; may hold -inf (those entries
// come out as exact zeros with zero gradient). The row maximum is taken over finite entries.
// A row whose entries are all -inf has no distribution: it comes out as NaN, as in PyTorch.
// Without a mask any rank >= 1 works; with one x needs rank >= 2.
template <class S, int R, class D>
inline Var<S, R, D> softmax(const Var<S, R, D>& x,
                            const std::type_identity_t<Tensor<S, 2, D>>* mask = nullptr) {
  static_assert(R >= 1, "softmax: x needs at least one dimension");
  const Index L = x.dim(R - 1);
  Index mask_rows = 1;
  if (mask) {
    if constexpr (R < 2) {
      ::ras::detail::throw_error("softmax: a mask of shape ", shape_string(mask->shape()),
                          " needs x of rank >= 2 (..., Lq, L) but got shape ", shape_string(x.shape()));
    } else {
      mask_rows = x.dim(R - 2);
      RAS_CHECK(mask->dim(0) == mask_rows && mask->dim(1) == L, "softmax: expected a mask of shape (",
                mask_rows, ", ", L, ") for x of shape ", shape_string(x.shape()), " but got ",
                shape_string(mask->shape()));
    }
  }
  const Index rows = L == 0 ? 0 : x.numel() / L;
  auto y = Tensor<S, R, D>::uninitialized(x.shape());
  kernels::softmax_forward<S, D>(rows, L, x.value().data(), mask ? mask->data() : nullptr,
                                 mask_rows, y.data());
  auto out = make_output(std::move(y), x);
  std::weak_ptr<typename Var<S, R, D>::Node> wy = out.node();
  record(out, [x, wy, rows, L](const Tensor<S, R, D>& dy) {
    if (!x.requires_grad()) return;
    auto ynode = wy.lock();  // alive: record() only calls back while the output lives
    kernels::softmax_backward_acc<S, D>(rows, L, ynode->value.data(), dy.data(), x.grad().data());
  });
  return out;
}

template <class S, int R, class D>
inline Var<S, R, D> softmax(const Var<S, R, D>& x, const Tensor<S, 2, D>& mask) {
  return softmax(x, &mask);
}

// x: (d0, ..., d_{R-1}) -> the same without d_axis: sqrt(sum over axis of x^2).
// Gradient x / norm, and 0 where the norm is 0 (no NaN; a valid subgradient).
template <class S, int R, class D>
inline Var<S, R - 1, D> l2_norm(const Var<S, R, D>& x, int axis) {
  static_assert(R >= 1, "l2_norm: x needs at least one dimension");
  axis = kernels::normalize_axis("l2_norm", axis, x.shape());
  const auto sp = kernels::split_at_axis(x.shape(), axis);
  auto y = Tensor<S, R - 1, D>::uninitialized(detail::shape_without_axis<R>(x.shape(), axis));
  kernels::l2_norm_forward<S, D>(sp.outer, sp.len, sp.inner, x.value().data(), y.data());
  auto out = make_output(std::move(y), x);
  std::weak_ptr<typename Var<S, R - 1, D>::Node> wy = out.node();
  record(out, [x, wy, sp](const Tensor<S, R - 1, D>& dy) {
    if (!x.requires_grad()) return;
    auto ynode = wy.lock();
    kernels::l2_norm_backward_acc<S, D>(sp.outer, sp.len, sp.inner, x.value().data(),
                                        ynode->value.data(), dy.data(), x.grad().data());
  });
  return out;
}

// x: (N, C, H, W) -> (N, C): the mean over H and W
template <class S, class D>
inline Var<S, 2, D> global_avg_pool(const Var<S, 4, D>& x) {
  const Index N = x.dim(0), C = x.dim(1), hw = x.dim(2) * x.dim(3);
  RAS_CHECK(hw > 0, "global_avg_pool: expected a non-empty spatial size but x has shape ",
            shape_string(x.shape()));
  const S alpha = S(1) / static_cast<S>(hw);
  auto y = Tensor<S, 2, D>::uninitialized({N, C});
  kernels::sum_axis<S, D>(N * C, hw, 1, alpha, x.value().data(), y.data(), false);
  auto out = make_output(std::move(y), x);
  record(out, [x, N, C, hw, alpha](const Tensor<S, 2, D>& dy) {
    if (x.requires_grad())
      kernels::broadcast_axis_acc<S, D>(N * C, hw, 1, alpha, dy.data(), x.grad().data());
  });
  return out;
}

// a, b: (...) -> (): mean((a - b)^2) over all elements, as torch.nn.MSELoss() (reduction="mean")
template <class S, int R, class D>
inline Var<S, 0, D> mse_loss(const Var<S, R, D>& a, const Var<S, R, D>& b) {
  RAS_CHECK(a.shape() == b.shape(), "mse_loss: expected input and target of the same shape but a has shape ",
            shape_string(a.shape()), " and b has shape ", shape_string(b.shape()));
  const Index n = a.numel();
  auto y = Tensor<S, 0, D>::uninitialized(Shape<0>{});
  y.fill(kernels::squared_diff_sum<S, D>(n, a.value().data(), b.value().data()) / static_cast<S>(n));
  auto out = make_output(std::move(y), a, b);
  record(out, [a, b, n](const Tensor<S, 0, D>& dy) {
    const S scale = S(2) * dy.item() / static_cast<S>(n);
    // d/da = 2 (a - b) / n,  d/db = -2 (a - b) / n
    if (a.requires_grad())
      kernels::sub_acc<S, D>(n, scale, a.value().data(), b.value().data(), a.grad().data());
    if (b.requires_grad())
      kernels::sub_acc<S, D>(n, -scale, a.value().data(), b.value().data(), b.grad().data());
  });
  return out;
}

}  // namespace ras::autograd
