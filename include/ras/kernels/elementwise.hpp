// ras/kernels/elementwise.hpp — raw element-wise kernels on contiguous buffers: arithmetic,
// activations (forward and backward, PyTorch's derivative conventions: relu' = x > 0,
// relu6' = 0 < x < 6 as hardtanh_backward) and per-channel broadcasts over an (outer, C, inner)
// layout (a row vector is inner = 1; a (N, C) scale of (N, C, H, W) maps is outer = 1, C' = N*C).
// No autograd here. Kernels whose name ends in _acc ADD into their output (backward contract);
// the others overwrite it. Outputs may alias an input only where a kernel says so.
// Front-end: each function dispatches to the device backend (kernels/backend.hpp).
#pragma once

#include <algorithm>
#include <cmath>

#include "ras/config.hpp"
#include "ras/kernels/backend.hpp"

namespace ras::kernels {

// ---- arithmetic (y may alias a or b) --------------------------------------------------------

// y[i] = a[i] + b[i]
template <class S, class D = Cpu>
inline void add(Index n, const S* a, const S* b, S* y) {
  dispatch<op::Add, D>(n, a, b, y);
}
// y[i] = a[i] - b[i]
template <class S, class D = Cpu>
inline void sub(Index n, const S* a, const S* b, S* y) {
  dispatch<op::Sub, D>(n, a, b, y);
}
// y[i] = a[i] * b[i]
template <class S, class D = Cpu>
inline void mul(Index n, const S* a, const S* b, S* y) {
  dispatch<op::Mul, D>(n, a, b, y);
}
// y[i] = a[i] / b[i]
template <class S, class D = Cpu>
inline void div(Index n, const S* a, const S* b, S* y) {
  dispatch<op::Div, D>(n, a, b, y);
}
// y[i] = x[i] + c
template <class S, class D = Cpu>
inline void add_scalar(Index n, const S* x, S c, S* y) {
  dispatch<op::AddScalar, D>(n, x, c, y);
}
// y[i] = c * x[i]
template <class S, class D = Cpu>
inline void scale(Index n, const S* x, S c, S* y) {
  dispatch<op::Scale, D>(n, x, c, y);
}
// y[i] += alpha * x[i]
template <class S, class D = Cpu>
inline void axpy_acc(Index n, S alpha, const S* x, S* y) {
  dispatch<op::AxpyAcc, D>(n, alpha, x, y);
}
// y[i] += alpha * (a[i] - b[i])
template <class S, class D = Cpu>
inline void sub_acc(Index n, S alpha, const S* a, const S* b, S* y) {
  dispatch<op::SubAcc, D>(n, alpha, a, b, y);
}
// y[i] += alpha * a[i] * b[i]
template <class S, class D = Cpu>
inline void mul_acc(Index n, S alpha, const S* a, const S* b, S* y) {
  dispatch<op::MulAcc, D>(n, alpha, a, b, y);
}
// y[i] += a[i] / b[i]
template <class S, class D = Cpu>
inline void div_acc(Index n, const S* a, const S* b, S* y) {
  dispatch<op::DivAcc, D>(n, a, b, y);
}
// Gradient of a / b with respect to b: gb[i] -= dy[i] * a[i] / (b[i] * b[i])
template <class S, class D = Cpu>
inline void div_backward_b_acc(Index n, const S* dy, const S* a, const S* b, S* gb) {
  dispatch<op::DivBackwardBAcc, D>(n, dy, a, b, gb);
}

// ---- activations: forward (y = f(x), may alias) and backward (dx += f'(.) * dy) --------------

template <class S, class D = Cpu>
inline void relu_forward(Index n, const S* x, S* y) {
  dispatch<op::ReluForward, D>(n, x, y);
}
// From the output y (y > 0 exactly where x > 0): dx += (y > 0) * dy
template <class S, class D = Cpu>
inline void relu_backward_acc(Index n, const S* y, const S* dy, S* dx) {
  dispatch<op::ReluBackwardAcc, D>(n, y, dy, dx);
}

template <class S, class D = Cpu>
inline void relu6_forward(Index n, const S* x, S* y) {
  dispatch<op::Relu6Forward, D>(n, x, y);
}
// From the input x: dx += (0 < x < 6) * dy
template <class S, class D = Cpu>
inline void relu6_backward_acc(Index n, const S* x, const S* dy, S* dx) {
  dispatch<op::Relu6BackwardAcc, D>(n, x, dy, dx);
}

template <class S, class D = Cpu>
inline void sigmoid_forward(Index n, const S* x, S* y) {
  dispatch<op::SigmoidForward, D>(n, x, y);
}
// From the output y: dx += y (1 - y) dy
template <class S, class D = Cpu>
inline void sigmoid_backward_acc(Index n, const S* y, const S* dy, S* dx) {
  dispatch<op::SigmoidBackwardAcc, D>(n, y, dy, dx);
}

// y = x * sigmoid(x)
template <class S, class D = Cpu>
inline void silu_forward(Index n, const S* x, S* y) {
  dispatch<op::SiluForward, D>(n, x, y);
}
// From the input x: dx += s (1 + x (1 - s)) dy, s = sigmoid(x)
template <class S, class D = Cpu>
inline void silu_backward_acc(Index n, const S* x, const S* dy, S* dx) {
  dispatch<op::SiluBackwardAcc, D>(n, x, dy, dx);
}

template <class S, class D = Cpu>
inline void sqrt_forward(Index n, const S* x, S* y) {
  dispatch<op::SqrtForward, D>(n, x, y);
}
// From the output y: dx += dy / (2 y)   (inf at y = 0, as PyTorch)
template <class S, class D = Cpu>
inline void sqrt_backward_acc(Index n, const S* y, const S* dy, S* dx) {
  dispatch<op::SqrtBackwardAcc, D>(n, y, dy, dx);
}

// ---- broadcasts over an (outer, C, inner) layout --------------------------------------------
// x, y: (outer, C, inner) contiguous; v: (C)

// y[o, c, i] = x[o, c, i] + v[c]   (y may alias x)
template <class S, class D = Cpu>
inline void channel_add(Index outer, Index C, Index inner, const S* x, const S* v, S* y) {
  dispatch<op::ChannelAdd, D>(outer, C, inner, x, v, y);
}
// y[o, c, i] = x[o, c, i] * v[c]   (y may alias x)
template <class S, class D = Cpu>
inline void channel_mul(Index outer, Index C, Index inner, const S* x, const S* v, S* y) {
  dispatch<op::ChannelMul, D>(outer, C, inner, x, v, y);
}
// dx[o, c, i] += dy[o, c, i] * v[c]
template <class S, class D = Cpu>
inline void channel_mul_acc(Index outer, Index C, Index inner, const S* dy, const S* v, S* dx) {
  dispatch<op::ChannelMulAcc, D>(outer, C, inner, dy, v, dx);
}
// gv[c] += sum over o, i of g[o, c, i] * (a ? a[o, c, i] : 1)   (a may be nullptr)
// Parallel over c (inner > 1) or over blocks of columns (inner == 1, row-vector case).
template <class S, class D = Cpu>
inline void channel_sum_acc(Index outer, Index C, Index inner, const S* g, const S* a, S* gv) {
  dispatch<op::ChannelSumAcc, D>(outer, C, inner, g, a, gv);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/elementwise.hpp"
#include "ras/kernels/reference/elementwise.hpp"
