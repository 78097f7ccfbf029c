// ras/kernels/cpu/depthwise.hpp — the Cpu backend of kernels/depthwise.hpp (vectorised, OpenMP).
#pragma once

#include "ras/kernels/cpu/common.hpp"
#include <Eigen/Core>

#include "ras/kernels/depthwise.hpp"
#include "ras/kernels/cpu/im2col.hpp"

namespace ras::kernels::detail {

// One plane: y (out_h, out_w) = bias + sum over taps of w * x. K > 0 fixes a square K x K kernel.
template <int K, class S>
inline void depthwise_plane_forward(const S* x, const S* w, S bias, S* y, const DepthwisePlane& p) {
  const Index kh = K > 0 ? K : p.kernel_h, kw = K > 0 ? K : p.kernel_w;
  const Index sw = p.stride_w, dw = p.dilation_w;
  for (Index oy = 0; oy < p.out_h; ++oy) {
    S* yr = y + oy * p.out_w;
    std::fill(yr, yr + p.out_w, bias);
    for (Index ky = 0; ky < kh; ++ky) {
      const Index iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
      if (iy < 0 || iy >= p.in_h) continue;
      const S* xr = x + iy * p.in_w;
      const S* wr = w + ky * kw;
      auto border = [&](Index ox) {
        S acc = S(0);
        for (Index kx = 0; kx < kw; ++kx) {
          const Index ix = ox * sw - p.pad_left + kx * dw;
          if (ix >= 0 && ix < p.in_w) acc += xr[ix] * wr[kx];
        }
        yr[ox] += acc;
      };
      for (Index ox = 0; ox < p.interior_lo; ++ox) border(ox);
      for (Index ox = p.interior_lo; ox < p.interior_hi; ++ox) {
        const S* xp = xr + (ox * sw - p.pad_left);
        S acc = S(0);
        for (Index kx = 0; kx < kw; ++kx) acc += xp[kx * dw] * wr[kx];
        yr[ox] += acc;
      }
      for (Index ox = p.interior_hi; ox < p.out_w; ++ox) border(ox);
    }
  }
}

// The forward fast path (dilation 1, stride s = 1 or 2), one band of output rows at a time (the
// band's buffers stay in L1). The padded rows and columns the outputs read (padded row r = input row
// r - pad_top, zero outside the input; likewise columns) are split into s x s phase planes: phase
// (py, px) holds padded rows py, py + s, ... and columns px, px + s, ..., wq = ceil(wp / s) columns
// each, stored `phase` values apart. Output (oy, ox) reads tap (ky, kx) in phase (ky % s, kx % s) at
// flat index (oy - band start) * wq + ox + (ky / s) * wq + kx / s, so every tap is one contiguous
// stream over the band's flat output (flat columns ox >= out_w are scratch and dropped; the slack
// after each phase plane is zero, so they stay finite).
inline constexpr Index depthwise_flat_block = 64;     // outputs accumulated in registers at a time
inline constexpr Index depthwise_flat_band = 2048;    // about this many flat outputs per band

struct DepthwiseFlat {
  Index s = 1, wp = 0, wq = 0;
  Index rows = 0;   // output rows per band
  Index hband = 0;  // phase rows per band: rows + (kh - 1) / s
  Index flat = 0;   // rows * wq rounded up to depthwise_flat_block
  Index phase = 0;  // values per band phase plane, slack included
  std::vector<Index> offsets;  // per tap (ky * kw + kx): its start in the phase buffer
  Index scratch() const { return s * s * phase + flat; }
};

inline bool depthwise_flat_applies(const DepthwisePlane& p) {
  return p.dilation_h == 1 && p.dilation_w == 1 && p.stride_h == p.stride_w && (p.stride_h == 1 || p.stride_h == 2);
}

inline DepthwiseFlat depthwise_flat(const DepthwisePlane& p) {
  DepthwiseFlat f;
  const Index s = f.s = p.stride_h, B = depthwise_flat_block;
  f.wp = (p.out_w - 1) * s + p.kernel_w;
  f.wq = (f.wp + s - 1) / s;
  f.rows = std::min(p.out_h, std::max<Index>(1, depthwise_flat_band / f.wq));
  f.hband = f.rows + (p.kernel_h - 1) / s;
  f.flat = (f.rows * f.wq + B - 1) / B * B;
  const Index reach = (p.kernel_h - 1) / s * f.wq + (p.kernel_w - 1) / s;  // largest tap shift
  f.phase = std::max(f.hband * f.wq, f.flat + reach);
  for (Index ky = 0; ky < p.kernel_h; ++ky)
    for (Index kx = 0; kx < p.kernel_w; ++kx)
      f.offsets.push_back(((ky % s) * s + kx % s) * f.phase + (ky / s) * f.wq + kx / s);
  return f;
}

// Phase rows [q0, q0 + f.hband) of plane x (in_h, in_w) -> buf (f.s * f.s * f.phase values).
template <class S>
inline void depthwise_flat_fill(const S* x, S* buf, Index q0, const DepthwisePlane& p, const DepthwiseFlat& f) {
  const Index s = f.s;
  for (Index py = 0; py < s; ++py) {
    for (Index px = 0; px < s; ++px) {
      S* ph = buf + (py * s + px) * f.phase;
      // columns qc with padded column c = qc * s + px inside the input: [lo, hi)
      const Index lo = std::min(f.wq, p.pad_left > px ? (p.pad_left - px + s - 1) / s : Index(0));
      const Index last_in = p.in_w - 1 + p.pad_left - px, last_pad = f.wp - 1 - px;
      const Index hi = std::max(lo, std::min({f.wq, last_in < 0 ? Index(0) : last_in / s + 1,
                                              last_pad < 0 ? Index(0) : last_pad / s + 1}));
      for (Index qr = 0; qr < f.hband; ++qr) {
        S* row = ph + qr * f.wq;
        const Index ir = (q0 + qr) * s + py - p.pad_top;
        if (ir < 0 || ir >= p.in_h) {
          std::fill(row, row + f.wq, S(0));
          continue;
        }
        const Index base = ir * p.in_w + px - p.pad_left;  // x[base + qc * s] = padded column qc * s + px
        std::fill(row, row + lo, S(0));
        if (s == 1) std::copy(x + base + lo, x + base + hi, row + lo);
        else
          for (Index qc = lo; qc < hi; ++qc) row[qc] = x[base + qc * s];
        std::fill(row + hi, row + f.wq, S(0));
      }
      std::fill(ph + f.hband * f.wq, ph + f.phase, S(0));
    }
  }
}

// One plane: y (out_h, out_w) = bias + sum over taps of w * x, through the phase buffer buf and the
// flat output out (f.flat values).
template <class S>
inline void depthwise_flat_plane_forward(const S* x, const S* w, S bias, S* y, const DepthwisePlane& p,
                                         const DepthwiseFlat& f, S* buf, S* out) {
  constexpr Index B = depthwise_flat_block;
  using Block = Eigen::Array<S, B, 1>;  // explicit packets (a plain loop gets vectorised over the taps)
  const Index taps = static_cast<Index>(f.offsets.size());
  const Index* off = f.offsets.data();
  for (Index oy0 = 0; oy0 < p.out_h; oy0 += f.rows) {
    const Index rows = std::min(f.rows, p.out_h - oy0);
    depthwise_flat_fill(x, buf, oy0, p, f);
    for (Index i0 = 0; i0 < rows * f.wq; i0 += B) {
      Block acc = Block::Constant(bias);
      for (Index t = 0; t < taps; ++t) acc += w[t] * Eigen::Map<const Block>(buf + off[t] + i0);
      Eigen::Map<Block>(out + i0) = acc;
    }
    for (Index r = 0; r < rows; ++r)
      std::copy(out + r * f.wq, out + r * f.wq + p.out_w, y + (oy0 + r) * p.out_w);
  }
}

// One plane: dx (in_h, in_w) += sum over outputs and taps of w * dy (the scatter adjoint).
template <int K, class S>
inline void depthwise_plane_backward_data(const S* dy, const S* w, S* dx, const DepthwisePlane& p) {
  const Index kh = K > 0 ? K : p.kernel_h, kw = K > 0 ? K : p.kernel_w;
  const Index sw = p.stride_w, dw = p.dilation_w;
  for (Index oy = 0; oy < p.out_h; ++oy) {
    const S* dyr = dy + oy * p.out_w;
    for (Index ky = 0; ky < kh; ++ky) {
      const Index iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
      if (iy < 0 || iy >= p.in_h) continue;
      S* xr = dx + iy * p.in_w;
      const S* wr = w + ky * kw;
      auto border = [&](Index ox) {
        for (Index kx = 0; kx < kw; ++kx) {
          const Index ix = ox * sw - p.pad_left + kx * dw;
          if (ix >= 0 && ix < p.in_w) xr[ix] += dyr[ox] * wr[kx];
        }
      };
      for (Index ox = 0; ox < p.interior_lo; ++ox) border(ox);
      for (Index ox = p.interior_lo; ox < p.interior_hi; ++ox) {
        S* xp = xr + (ox * sw - p.pad_left);
        const S g = dyr[ox];
        for (Index kx = 0; kx < kw; ++kx) xp[kx * dw] += g * wr[kx];
      }
      for (Index ox = p.interior_hi; ox < p.out_w; ++ox) border(ox);
    }
  }
}

template <int K, class S>
inline void depthwise_forward_planes(const S* x, const S* w, const S* bias, S* y, Index N, Index C,
                                     const DepthwisePlane& p) {
  const Index in_size = p.in_h * p.in_w, out_size = p.out_h * p.out_w, kk = p.kernel_h * p.kernel_w;
#pragma omp parallel for schedule(static)
  for (Index q = 0; q < N * C; ++q) {
    const Index c = q % C;
    depthwise_plane_forward<K>(x + q * in_size, w + c * kk, bias ? bias[c] : S(0), y + q * out_size,
                               p);
  }
}

template <int K, class S>
inline void depthwise_backward_data_planes(const S* dy, const S* w, S* dx, Index N, Index C,
                                           const DepthwisePlane& p) {
  const Index in_size = p.in_h * p.in_w, out_size = p.out_h * p.out_w, kk = p.kernel_h * p.kernel_w;
#pragma omp parallel for schedule(static)
  for (Index q = 0; q < N * C; ++q)
    depthwise_plane_backward_data<K>(dy + q * out_size, w + (q % C) * kk, dx + q * in_size, p);
}

inline int depthwise_fixed_kernel(const DepthwisePlane& p) {
  if (p.kernel_h == 3 && p.kernel_w == 3) return 3;
  if (p.kernel_h == 5 && p.kernel_w == 5) return 5;
  return 0;
}

}  // namespace ras::kernels::detail

namespace ras::kernels::cpu {

template <class S, class D>
inline Tensor<S, 4, D> run_kernel(Tag, op::DepthwiseConv2dForward, const Tensor<S, 4, D>& x, const Tensor<S, 4, D>& w,
                                                const Tensor<S, 1, D>* bias, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), w.shape(), a);
  const Index N = g.batch, C = g.in_channels;
  auto y = Tensor<S, 4, D>::uninitialized({N, C, g.out_h, g.out_w});
  const auto p = detail::depthwise_plane(g, a);
  const S* b = bias ? bias->data() : nullptr;
  if (detail::depthwise_flat_applies(p)) {
    const auto f = detail::depthwise_flat(p);
    const Index chunks = std::max<Index>(1, std::min<Index>(threads(), N * C));
    auto scratch = Tensor<S, 2, D>::uninitialized({chunks, f.scratch()});
    const Index in_size = p.in_h * p.in_w, out_size = p.out_h * p.out_w, kk = p.kernel_h * p.kernel_w;
    const S* xd = x.data();
    const S* wd = w.data();
    S* yd = y.data();
    S* sd = scratch.data();
#pragma omp parallel for schedule(static)
    for (Index t = 0; t < chunks; ++t) {
      S* buf = sd + t * f.scratch();
      for (Index q = t * N * C / chunks; q < (t + 1) * N * C / chunks; ++q) {
        const Index c = q % C;
        detail::depthwise_flat_plane_forward(xd + q * in_size, wd + c * kk, b ? b[c] : S(0), yd + q * out_size,
                                             p, f, buf, buf + f.s * f.s * f.phase);
      }
    }
    return y;
  }
  switch (detail::depthwise_fixed_kernel(p)) {
    case 3:
      detail::depthwise_forward_planes<3>(x.data(), w.data(), b, y.data(), N, C, p);
      break;
    case 5:
      detail::depthwise_forward_planes<5>(x.data(), w.data(), b, y.data(), N, C, p);
      break;
    default:
      detail::depthwise_forward_planes<0>(x.data(), w.data(), b, y.data(), N, C, p);
      break;
  }
  return y;
}

template <class S, class D>
inline void run_kernel(Tag, op::DepthwiseConv2dBackwardData, const Tensor<S, 4, D>& dy, const Tensor<S, 4, D>& w,
                                           Tensor<S, 4, D>& dx, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(dx.shape(), w.shape(), a);
  const Index N = g.batch, C = g.in_channels;
  const auto p = detail::depthwise_plane(g, a);
  switch (detail::depthwise_fixed_kernel(p)) {
    case 3:
      detail::depthwise_backward_data_planes<3>(dy.data(), w.data(), dx.data(), N, C, p);
      break;
    case 5:
      detail::depthwise_backward_data_planes<5>(dy.data(), w.data(), dx.data(), N, C, p);
      break;
    default:
      detail::depthwise_backward_data_planes<0>(dy.data(), w.data(), dx.data(), N, C, p);
      break;
  }
}

template <class S, class D>
inline void run_kernel(Tag, op::DepthwiseConv2dBackwardWeight, const Tensor<S, 4, D>& dy, const Tensor<S, 4, D>& x,
                                             Tensor<S, 4, D>& dw, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), dw.shape(), a);
  const Index N = g.batch, C = g.in_channels;
  const Index in_size = g.in_h * g.in_w, out_size = g.out_h * g.out_w;
  const Index kh = g.kernel_h, kw = g.kernel_w;
  const S* dyd = dy.data();
  const S* xd = x.data();
  S* dwd = dw.data();
#pragma omp parallel for schedule(static)
  for (Index c = 0; c < C; ++c) {
    for (Index ky = 0; ky < kh; ++ky) {
      for (Index kx = 0; kx < kw; ++kx) {
        const Index off_x = kx * a.dilation_w - a.pad_left;
        Index lo, hi;
        detail::valid_output_range(off_x, a.stride_w, g.in_w, g.out_w, lo, hi);
        S acc = S(0);
        for (Index n = 0; n < N; ++n) {
          const S* xp = xd + (n * C + c) * in_size;
          const S* dyp = dyd + (n * C + c) * out_size;
          for (Index oy = 0; oy < g.out_h; ++oy) {
            const Index iy = oy * a.stride_h - a.pad_top + ky * a.dilation_h;
            if (iy < 0 || iy >= g.in_h) continue;
            const S* xr = xp + iy * g.in_w;
            const S* dyr = dyp + oy * g.out_w;
            for (Index ox = lo; ox < hi; ++ox) acc += dyr[ox] * xr[ox * a.stride_w + off_x];
          }
        }
        dwd[(c * kh + ky) * kw + kx] += acc;
      }
    }
  }
}

}  // namespace ras::kernels::cpu
