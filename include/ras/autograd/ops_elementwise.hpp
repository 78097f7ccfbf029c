// ras/autograd/ops_elementwise.hpp — element-wise autograd ops: same-shape add/sub/mul/div,
// scalar and rank-0 broadcasts, per-row (last axis) and per-channel (axis 1) vector broadcasts,
// squeeze-excitation channel scaling, expand_leading, and the activations relu, relu6, sigmoid,
// silu, sqrt, square. Semantics and derivatives follow PyTorch (torch.add/mul/..., F.relu,
// F.relu6, torch.sigmoid, F.silu, torch.sqrt, torch.square): relu' = (x > 0), relu6' = (0 < x < 6).
// Every backward ADDS into the inputs' gradients.
#pragma once

#include <algorithm>
#include <memory>
#include <type_traits>

#include "ras/autograd/var.hpp"
#include "ras/kernels/elementwise.hpp"
#include "ras/kernels/memory.hpp"
#include "ras/kernels/reduce.hpp"

namespace ras::autograd {

namespace detail {
template <class S, int R, class D>
inline void check_same_shapes(const char* op, const Var<S, R, D>& a, const Var<S, R, D>& b) {
  RAS_CHECK(a.shape() == b.shape(), op, ": expected operands of the same shape but a has shape ",
            shape_string(a.shape()), " and b has shape ", shape_string(b.shape()));
}

// x's gradient += dy (a copy of dy when x has no gradient yet: no zero-fill first).
template <class S, int R, class D>
inline void add_gradient(const Var<S, R, D>& x, const Tensor<S, R, D>& dy) {
  auto [g, fresh] = x.grad_for_write();
  if (fresh) kernels::tile<S, D>(1, dy.numel(), dy.data(), g.data());
  else kernels::axpy_acc<S, D>(dy.numel(), S(1), dy.data(), g.data());
}

// y = f(x) with fwd(n, x, y); bwd(n, saved, dy, dx) adds into dx, where `saved` is the output's
// value when from_output (held weakly: record() only calls back while the output lives) or else
// the input's value.
template <class S, int R, class D, class Fwd, class Bwd>
inline Var<S, R, D> unary_op(const Var<S, R, D>& x, Fwd fwd, Bwd bwd, bool from_output) {
  auto y = Tensor<S, R, D>::uninitialized(x.shape());
  fwd(x.numel(), x.value().data(), y.data());
  auto out = make_output(std::move(y), x);
  std::weak_ptr<typename Var<S, R, D>::Node> wy = out.node();
  record(out, [x, wy, bwd, from_output](const Tensor<S, R, D>& dy) {
    if (!x.requires_grad()) return;
    auto ynode = wy.lock();
    const S* saved = from_output ? ynode->value.data() : x.value().data();
    bwd(dy.numel(), saved, dy.data(), x.grad().data());
  });
  return out;
}

// y[o, c, i] = x[o, c, i] + v[c] over an (outer, C, inner) layout of x.
template <class S, int R, int RV, class D>
inline Var<S, R, D> channel_add_impl(const Var<S, R, D>& x, const Var<S, RV, D>& v, Index outer,
                                     Index C, Index inner) {
  auto y = Tensor<S, R, D>::uninitialized(x.shape());
  kernels::channel_add<S, D>(outer, C, inner, x.value().data(), v.value().data(), y.data());
  auto out = make_output(std::move(y), x, v);
  record(out, [x, v, outer, C, inner](const Tensor<S, R, D>& dy) {
    if (x.requires_grad()) add_gradient(x, dy);
    if (v.requires_grad())
      kernels::channel_sum_acc<S, D>(outer, C, inner, dy.data(), nullptr, v.grad().data());
  });
  return out;
}

// y[o, c, i] = x[o, c, i] * v[c] over an (outer, C, inner) layout of x.
template <class S, int R, int RV, class D>
inline Var<S, R, D> channel_mul_impl(const Var<S, R, D>& x, const Var<S, RV, D>& v, Index outer,
                                     Index C, Index inner) {
  auto y = Tensor<S, R, D>::uninitialized(x.shape());
  kernels::channel_mul<S, D>(outer, C, inner, x.value().data(), v.value().data(), y.data());
  auto out = make_output(std::move(y), x, v);
  record(out, [x, v, outer, C, inner](const Tensor<S, R, D>& dy) {
    if (x.requires_grad())
      kernels::channel_mul_acc<S, D>(outer, C, inner, dy.data(), v.value().data(), x.grad().data());
    if (v.requires_grad())
      kernels::channel_sum_acc<S, D>(outer, C, inner, dy.data(), x.value().data(), v.grad().data());
  });
  return out;
}
}  // namespace detail

// ---- same-shape binary ops: a, b: (...) -> (...) ----------------------------------------------

template <class S, int R, class D>
inline Var<S, R, D> add(const Var<S, R, D>& a, const Var<S, R, D>& b) {
  detail::check_same_shapes("add", a, b);
  auto y = Tensor<S, R, D>::uninitialized(a.shape());
  kernels::add<S, D>(y.numel(), a.value().data(), b.value().data(), y.data());
  auto out = make_output(std::move(y), a, b);
  record(out, [a, b](const Tensor<S, R, D>& dy) {
    if (a.requires_grad()) detail::add_gradient(a, dy);
    if (b.requires_grad()) detail::add_gradient(b, dy);
  });
  return out;
}

template <class S, int R, class D>
inline Var<S, R, D> sub(const Var<S, R, D>& a, const Var<S, R, D>& b) {
  detail::check_same_shapes("sub", a, b);
  auto y = Tensor<S, R, D>::uninitialized(a.shape());
  kernels::sub<S, D>(y.numel(), a.value().data(), b.value().data(), y.data());
  auto out = make_output(std::move(y), a, b);
  record(out, [a, b](const Tensor<S, R, D>& dy) {
    if (a.requires_grad()) detail::add_gradient(a, dy);
    if (b.requires_grad()) kernels::axpy_acc<S, D>(dy.numel(), S(-1), dy.data(), b.grad().data());
  });
  return out;
}

template <class S, int R, class D>
inline Var<S, R, D> mul(const Var<S, R, D>& a, const Var<S, R, D>& b) {
  detail::check_same_shapes("mul", a, b);
  auto y = Tensor<S, R, D>::uninitialized(a.shape());
  kernels::mul<S, D>(y.numel(), a.value().data(), b.value().data(), y.data());
  auto out = make_output(std::move(y), a, b);
  record(out, [a, b](const Tensor<S, R, D>& dy) {
    if (a.requires_grad())
      kernels::mul_acc<S, D>(dy.numel(), S(1), dy.data(), b.value().data(), a.grad().data());
    if (b.requires_grad())
      kernels::mul_acc<S, D>(dy.numel(), S(1), dy.data(), a.value().data(), b.grad().data());
  });
  return out;
}

template <class S, int R, class D>
inline Var<S, R, D> div(const Var<S, R, D>& a, const Var<S, R, D>& b) {
  detail::check_same_shapes("div", a, b);
  auto y = Tensor<S, R, D>::uninitialized(a.shape());
  kernels::div<S, D>(y.numel(), a.value().data(), b.value().data(), y.data());
  auto out = make_output(std::move(y), a, b);
  record(out, [a, b](const Tensor<S, R, D>& dy) {
    if (a.requires_grad())
      kernels::div_acc<S, D>(dy.numel(), dy.data(), b.value().data(), a.grad().data());
    if (b.requires_grad())
      kernels::div_backward_b_acc<S, D>(dy.numel(), dy.data(), a.value().data(), b.value().data(),
                                        b.grad().data());
  });
  return out;
}

// ---- scalar broadcasts ------------------------------------------------------------------------

// x: (...) -> (...), y = x + c
template <class S, int R, class D>
inline Var<S, R, D> add_scalar(const Var<S, R, D>& x, std::type_identity_t<S> c) {
  auto y = Tensor<S, R, D>::uninitialized(x.shape());
  kernels::add_scalar<S, D>(y.numel(), x.value().data(), c, y.data());
  auto out = make_output(std::move(y), x);
  record(out, [x](const Tensor<S, R, D>& dy) {
    if (x.requires_grad()) kernels::axpy_acc<S, D>(dy.numel(), S(1), dy.data(), x.grad().data());
  });
  return out;
}

// x: (...) -> (...), y = c * x
template <class S, int R, class D>
inline Var<S, R, D> mul_scalar(const Var<S, R, D>& x, std::type_identity_t<S> c) {
  auto y = Tensor<S, R, D>::uninitialized(x.shape());
  kernels::scale<S, D>(y.numel(), x.value().data(), c, y.data());
  auto out = make_output(std::move(y), x);
  record(out, [x, c](const Tensor<S, R, D>& dy) {
    if (x.requires_grad()) kernels::axpy_acc<S, D>(dy.numel(), S(c), dy.data(), x.grad().data());
  });
  return out;
}

// x: (...), s: () -> (...), y = s * x (a rank-0 Var broadcast, e.g. a learnable scale)
template <class S, int R, class D>
  requires(R > 0)
inline Var<S, R, D> mul(const Var<S, R, D>& x, const Var<S, 0, D>& s) {
  auto y = Tensor<S, R, D>::uninitialized(x.shape());
  kernels::scale<S, D>(y.numel(), x.value().data(), s.value().item(), y.data());
  auto out = make_output(std::move(y), x, s);
  record(out, [x, s](const Tensor<S, R, D>& dy) {
    if (x.requires_grad())
      kernels::axpy_acc<S, D>(dy.numel(), s.value().item(), dy.data(), x.grad().data());
    if (s.requires_grad()) {
      // ds += sum(dy * x): the (outer=1, C=1, inner=n) channel reduction
      kernels::channel_sum_acc<S, D>(1, 1, dy.numel(), dy.data(), x.value().data(), s.grad().data());
    }
  });
  return out;
}

// ---- vector broadcasts ------------------------------------------------------------------------

// x: (..., C), v: (C) -> (..., C), y = x + v over the last axis (a bias)
template <class S, int R, class D>
inline Var<S, R, D> add_rowvec(const Var<S, R, D>& x, const Var<S, 1, D>& v) {
  static_assert(R >= 1, "add_rowvec: x needs at least one dimension");
  const Index C = x.dim(R - 1);
  RAS_CHECK(v.dim(0) == C, "add_rowvec: expected v of shape (", C, ",) for x of shape ",
            shape_string(x.shape()), " but got ", shape_string(v.shape()));
  return detail::channel_add_impl(x, v, C == 0 ? 0 : x.numel() / C, C, Index(1));
}

// x: (..., C), v: (C) -> (..., C), y = x * v over the last axis
template <class S, int R, class D>
inline Var<S, R, D> mul_rowvec(const Var<S, R, D>& x, const Var<S, 1, D>& v) {
  static_assert(R >= 1, "mul_rowvec: x needs at least one dimension");
  const Index C = x.dim(R - 1);
  RAS_CHECK(v.dim(0) == C, "mul_rowvec: expected v of shape (", C, ",) for x of shape ",
            shape_string(x.shape()), " but got ", shape_string(v.shape()));
  return detail::channel_mul_impl(x, v, C == 0 ? 0 : x.numel() / C, C, Index(1));
}

// x: (N, C, ...), v: (C) -> (N, C, ...), y = x + v over axis 1
template <class S, int R, class D>
inline Var<S, R, D> add_channel(const Var<S, R, D>& x, const Var<S, 1, D>& v) {
  static_assert(R >= 2, "add_channel: x needs at least two dimensions (N, C, ...)");
  const auto sp = kernels::split_at_axis(x.shape(), 1);
  RAS_CHECK(v.dim(0) == sp.len, "add_channel: expected v of shape (", sp.len, ",) for x of shape ",
            shape_string(x.shape()), " but got ", shape_string(v.shape()));
  return detail::channel_add_impl(x, v, sp.outer, sp.len, sp.inner);
}

// x: (N, C, ...), v: (C) -> (N, C, ...), y = x * v over axis 1
template <class S, int R, class D>
inline Var<S, R, D> mul_channel(const Var<S, R, D>& x, const Var<S, 1, D>& v) {
  static_assert(R >= 2, "mul_channel: x needs at least two dimensions (N, C, ...)");
  const auto sp = kernels::split_at_axis(x.shape(), 1);
  RAS_CHECK(v.dim(0) == sp.len, "mul_channel: expected v of shape (", sp.len, ",) for x of shape ",
            shape_string(x.shape()), " but got ", shape_string(v.shape()));
  return detail::channel_mul_impl(x, v, sp.outer, sp.len, sp.inner);
}

// x: (N, C, H, W), s: (N, C) -> (N, C, H, W), y[n, c] = x[n, c] * s[n, c] (squeeze-excitation)
template <class S, class D>
inline Var<S, 4, D> scale_channels(const Var<S, 4, D>& x, const Var<S, 2, D>& s) {
  const Index N = x.dim(0), C = x.dim(1);
  RAS_CHECK(s.dim(0) == N && s.dim(1) == C, "scale_channels: expected s of shape (", N, ", ", C,
            ") for x of shape ", shape_string(x.shape()), " but got ", shape_string(s.shape()));
  return detail::channel_mul_impl(x, s, Index(1), N * C, x.dim(2) * x.dim(3));
}

// x: (...) -> (n, ...): n copies along a new leading axis (backward sums over it)
template <class S, int R, class D>
inline Var<S, R + 1, D> expand_leading(const Var<S, R, D>& x, Index n) {
  RAS_CHECK(n >= 0, "expand_leading: expected n >= 0 but got ", n, " (x of shape ",
            shape_string(x.shape()), ")");
  Shape<R + 1> shape;
  shape[0] = n;
  for (int i = 0; i < R; ++i) shape[static_cast<std::size_t>(i + 1)] = x.dim(i);
  auto y = Tensor<S, R + 1, D>::uninitialized(shape);
  const Index m = x.numel();
  kernels::tile<S, D>(n, m, x.value().data(), y.data());
  auto out = make_output(std::move(y), x);
  record(out, [x, n, m](const Tensor<S, R + 1, D>& dy) {
    if (x.requires_grad()) kernels::sum_axis<S, D>(1, n, m, S(1), dy.data(), x.grad().data(), true);
  });
  return out;
}

// ---- activations: x: (...) -> (...) ----------------------------------------------------------

template <class S, int R, class D>
inline Var<S, R, D> relu(const Var<S, R, D>& x) {
  return detail::unary_op(
      x, [](Index n, const S* a, S* y) { kernels::relu_forward<S, D>(n, a, y); },
      [](Index n, const S* y, const S* dy, S* dx) { kernels::relu_backward_acc<S, D>(n, y, dy, dx); },
      true);
}

template <class S, int R, class D>
inline Var<S, R, D> relu6(const Var<S, R, D>& x) {
  return detail::unary_op(
      x, [](Index n, const S* a, S* y) { kernels::relu6_forward<S, D>(n, a, y); },
      [](Index n, const S* a, const S* dy, S* dx) { kernels::relu6_backward_acc<S, D>(n, a, dy, dx); },
      false);
}

template <class S, int R, class D>
inline Var<S, R, D> sigmoid(const Var<S, R, D>& x) {
  return detail::unary_op(
      x, [](Index n, const S* a, S* y) { kernels::sigmoid_forward<S, D>(n, a, y); },
      [](Index n, const S* y, const S* dy, S* dx) { kernels::sigmoid_backward_acc<S, D>(n, y, dy, dx); },
      true);
}

template <class S, int R, class D>
inline Var<S, R, D> silu(const Var<S, R, D>& x) {
  return detail::unary_op(
      x, [](Index n, const S* a, S* y) { kernels::silu_forward<S, D>(n, a, y); },
      [](Index n, const S* a, const S* dy, S* dx) { kernels::silu_backward_acc<S, D>(n, a, dy, dx); },
      false);
}

template <class S, int R, class D>
inline Var<S, R, D> sqrt(const Var<S, R, D>& x) {
  return detail::unary_op(
      x, [](Index n, const S* a, S* y) { kernels::sqrt_forward<S, D>(n, a, y); },
      [](Index n, const S* y, const S* dy, S* dx) { kernels::sqrt_backward_acc<S, D>(n, y, dy, dx); },
      true);
}

template <class S, int R, class D>
inline Var<S, R, D> square(const Var<S, R, D>& x) {
  return detail::unary_op(
      x, [](Index n, const S* a, S* y) { kernels::mul<S, D>(n, a, a, y); },
      [](Index n, const S* a, const S* dy, S* dx) { kernels::mul_acc<S, D>(n, S(2), a, dy, dx); },
      false);
}

}  // namespace ras::autograd
