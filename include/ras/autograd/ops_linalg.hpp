// ras/autograd/ops_linalg.hpp — matmul, batched matmul and linear (y = x W^T + b, as
// torch.nn.functional.linear), all through kernels::gemm.
#pragma once

#include <optional>

#include "ras/autograd/var.hpp"
#include "ras/kernels/elementwise.hpp"
#include "ras/kernels/gemm.hpp"
#include "ras/kernels/memory.hpp"

namespace ras::autograd {

// a: (m, k), b: (k, n) -> (m, n)
template <class S, class D>
inline Var<S, 2, D> matmul(const Var<S, 2, D>& a, const Var<S, 2, D>& b) {
  const Index m = a.dim(0), k = a.dim(1), n = b.dim(1);
  RAS_CHECK(b.dim(0) == k, "matmul: expected b of shape (", k, ", n) for a of shape ",
            shape_string(a.shape()), " but got ", shape_string(b.shape()));
  auto y = Tensor<S, 2, D>::uninitialized({m, n});
  kernels::gemm<S, D>(false, false, m, n, k, S(1), a.value().data(), k, b.value().data(), n, S(0),
                      y.data(), n);
  auto out = make_output(std::move(y), a, b);
  // dA += dY B^T;  dB += A^T dY
  record(out, [a, b, m, n, k](const Tensor<S, 2, D>& dy) mutable {
    if (a.requires_grad())
      kernels::gemm<S, D>(false, true, m, k, n, S(1), dy.data(), n, b.value().data(), n, S(1),
                          a.grad().data(), k);
    if (b.requires_grad())
      kernels::gemm<S, D>(true, false, k, n, m, S(1), a.value().data(), k, dy.data(), n, S(1),
                          b.grad().data(), n);
  });
  return out;
}

// a: (B, m, k), b: (B, k, n) -> (B, m, n)
template <class S, class D>
inline Var<S, 3, D> bmm(const Var<S, 3, D>& a, const Var<S, 3, D>& b) {
  const Index bs = a.dim(0), m = a.dim(1), k = a.dim(2), n = b.dim(2);
  RAS_CHECK(b.dim(0) == bs && b.dim(1) == k, "bmm: expected b of shape (", bs, ", ", k,
            ", n) for a of shape ", shape_string(a.shape()), " but got ", shape_string(b.shape()));
  auto y = Tensor<S, 3, D>::uninitialized({bs, m, n});
  kernels::gemm_batched<S, D>(false, false, bs, m, n, k, S(1), a.value().data(), k, m * k,
                              b.value().data(), n, k * n, S(0), y.data(), n, m * n);
  auto out = make_output(std::move(y), a, b);
  record(out, [a, b, bs, m, n, k](const Tensor<S, 3, D>& dy) mutable {
    if (a.requires_grad())
      kernels::gemm_batched<S, D>(false, true, bs, m, k, n, S(1), dy.data(), n, m * n,
                                  b.value().data(), n, k * n, S(1), a.grad().data(), k, m * k);
    if (b.requires_grad())
      kernels::gemm_batched<S, D>(true, false, bs, k, n, m, S(1), a.value().data(), k, m * k,
                                  dy.data(), n, m * n, S(1), b.grad().data(), n, k * n);
  });
  return out;
}

// x: (..., in), weight: (out, in), bias: (out) or none -> (..., out)
template <class S, int R, class D>
inline Var<S, R, D> linear(const Var<S, R, D>& x, const Var<S, 2, D>& weight,
                           const Var<S, 1, D>* bias = nullptr) {
  static_assert(R >= 1, "linear: input needs at least one dimension");
  const Index in = x.dim(R - 1), out_features = weight.dim(0);
  RAS_CHECK(weight.dim(1) == in, "linear: weight has shape ", shape_string(weight.shape()),
            " but the input's last dimension is ", in, " (input shape ", shape_string(x.shape()), ")");
  if (bias)
    RAS_CHECK(bias->dim(0) == out_features, "linear: expected bias of shape (", out_features,
              ",) but got ", shape_string(bias->shape()));
  const Index rows = in == 0 ? 0 : x.numel() / in;
  Shape<R> out_shape = x.shape();
  out_shape[R - 1] = out_features;
  auto y = Tensor<S, R, D>::uninitialized(out_shape);
  if (bias) kernels::tile<S, D>(rows, out_features, bias->value().data(), y.data());
  kernels::gemm<S, D>(false, true, rows, out_features, in, S(1), x.value().data(), in,
                      weight.value().data(), in, bias ? S(1) : S(0), y.data(), out_features);
  const bool bias_grad = bias && bias->requires_grad();
  auto out = bias_grad ? make_output(std::move(y), x, weight, *bias) : make_output(std::move(y), x, weight);
  std::optional<Var<S, 1, D>> b;
  if (bias) b = *bias;
  // dX += dY W;  dW += dY^T X;  db += sum over rows of dY
  record(out, [x, weight, b, rows, in, out_features](const Tensor<S, R, D>& dy) mutable {
    // (a gradient that does not exist yet is written, beta 0, instead of zero-filled and added to)
    if (x.requires_grad()) {
      auto [gx, fresh] = x.grad_for_write();
      kernels::gemm<S, D>(false, false, rows, in, out_features, S(1), dy.data(), out_features,
                          weight.value().data(), in, fresh ? S(0) : S(1), gx.data(), in);
    }
    if (weight.requires_grad()) {
      auto [gw, fresh] = weight.grad_for_write();
      kernels::gemm<S, D>(true, false, out_features, in, rows, S(1), dy.data(), out_features,
                          x.value().data(), in, fresh ? S(0) : S(1), gw.data(), in);
    }
    if (b && b->requires_grad())
      kernels::channel_sum_acc<S, D>(rows, out_features, 1, dy.data(), nullptr, b->grad().data());
  });
  return out;
}

template <class S, int R, class D>
inline Var<S, R, D> linear(const Var<S, R, D>& x, const Var<S, 2, D>& weight, const Var<S, 1, D>& bias) {
  return linear(x, weight, &bias);
}

}  // namespace ras::autograd
