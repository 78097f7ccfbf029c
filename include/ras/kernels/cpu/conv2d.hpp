// ras/kernels/cpu/conv2d.hpp — the Cpu backend of kernels/conv2d.hpp (vectorised, OpenMP).
#pragma once

#include "ras/kernels/cpu/common.hpp"
#include "ras/kernels/conv2d.hpp"
#include "ras/kernels/cpu/im2col.hpp"
#include "ras/kernels/gemm.hpp"

namespace ras::kernels {
namespace detail {
inline bool conv2d_is_pointwise(const Conv2dGeometry& g, const Conv2dArgs& a) {
  return g.kernel_h == 1 && g.kernel_w == 1 && a.stride_h == 1 && a.stride_w == 1 &&
         a.pad_top == 0 && a.pad_bottom == 0 && a.pad_left == 0 && a.pad_right == 0;
}

inline Im2colGeometry conv2d_im2col_geometry(const Conv2dGeometry& g, const Conv2dArgs& a) {
  Im2colGeometry ig;
  ig.channels = g.group_in(), ig.height = g.in_h, ig.width = g.in_w;
  ig.kernel_h = g.kernel_h, ig.kernel_w = g.kernel_w;
  ig.stride_h = a.stride_h, ig.stride_w = a.stride_w;
  ig.pad_top = a.pad_top, ig.pad_left = a.pad_left;
  ig.dilation_h = a.dilation_h, ig.dilation_w = a.dilation_w;
  ig.out_h = g.out_h, ig.out_w = g.out_w;
  return ig;
}

// Images go to `chunks` contiguous blocks; chunks > 1 only when there are enough images for every
// thread (each GEMM is then single-threaded: Eigen does not nest inside an active OpenMP region).
inline Index conv2d_chunks(Index batch) {
  const Index threads = cpu::threads();
  return threads > 1 && batch >= threads ? threads : 1;
}
}  // namespace detail
}  // namespace ras::kernels

namespace ras::kernels::cpu {

template <class S, class D>
inline Tensor<S, 4, D> run_kernel(Tag, op::Conv2dForward, const Tensor<S, 4, D>& x, const Tensor<S, 4, D>& w,
                                      const Tensor<S, 1, D>* bias, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), w.shape(), a);
  const Index N = g.batch, C = g.in_channels, O = g.out_channels, P = g.out_h * g.out_w;
  const Index Cg = g.group_in(), Og = g.group_out(), K = Cg * g.kernel_h * g.kernel_w;
  const Index HW = g.in_h * g.in_w;
  auto y = Tensor<S, 4, D>::uninitialized({N, O, g.out_h, g.out_w});
  const S* bd = bias ? bias->data() : nullptr;
#pragma omp parallel for schedule(static)
  for (Index p = 0; p < N * O; ++p)
    std::fill(y.data() + p * P, y.data() + (p + 1) * P, bd ? bd[p % O] : S(0));

  const bool pointwise = detail::conv2d_is_pointwise(g, a);
  const Im2colGeometry ig = detail::conv2d_im2col_geometry(g, a);
  const Index chunks = detail::conv2d_chunks(N);
  const bool outer = chunks > 1;
  auto cols = Tensor<S, 2, D>::uninitialized({pointwise ? 0 : chunks, K * P});
  const S* xd = x.data();
  const S* wd = w.data();
  S* yd = y.data();
  // Y_g (Og, P) += W_g (Og, K) x col_g (K, P), per image and group.
#pragma omp parallel for schedule(static) if (outer)
  for (Index t = 0; t < chunks; ++t) {
    S* col = pointwise ? nullptr : cols.data() + t * K * P;
    for (Index n = t * N / chunks; n < (t + 1) * N / chunks; ++n) {
      for (Index gr = 0; gr < g.groups; ++gr) {
        const S* xs = xd + (n * C + gr * Cg) * HW;
        if (!pointwise) im2col(xs, ig, col, !outer);
        detail::gemm_cpu<S>(false, false, Og, P, K, S(1), wd + gr * Og * K, K, pointwise ? xs : col,
                            P, S(1), yd + (n * O + gr * Og) * P, P);
      }
    }
  }
  return y;
}

template <class S, class D>
inline void run_kernel(Tag, op::Conv2dBackwardData, const Tensor<S, 4, D>& dy, const Tensor<S, 4, D>& w,
                                 Tensor<S, 4, D>& dx, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(dx.shape(), w.shape(), a);
  const Index N = g.batch, C = g.in_channels, O = g.out_channels, P = g.out_h * g.out_w;
  const Index Cg = g.group_in(), Og = g.group_out(), K = Cg * g.kernel_h * g.kernel_w;
  const Index HW = g.in_h * g.in_w;
  const bool pointwise = detail::conv2d_is_pointwise(g, a);
  const Im2colGeometry ig = detail::conv2d_im2col_geometry(g, a);
  const Index chunks = detail::conv2d_chunks(N);
  const bool outer = chunks > 1;
  auto cols = Tensor<S, 2, D>::uninitialized({pointwise ? 0 : chunks, K * P});
  const S* dyd = dy.data();
  const S* wd = w.data();
  S* dxd = dx.data();
#pragma omp parallel for schedule(static) if (outer)
  for (Index t = 0; t < chunks; ++t) {
    S* col = pointwise ? nullptr : cols.data() + t * K * P;
    for (Index n = t * N / chunks; n < (t + 1) * N / chunks; ++n) {
      for (Index gr = 0; gr < g.groups; ++gr) {
        const S* wg = wd + gr * Og * K;
        const S* dys = dyd + (n * O + gr * Og) * P;
        S* dxs = dxd + (n * C + gr * Cg) * HW;
        if (pointwise) {
          detail::gemm_cpu<S>(true, false, Cg, P, Og, S(1), wg, K, dys, P, S(1), dxs, P);
        } else {
          detail::gemm_cpu<S>(true, false, K, P, Og, S(1), wg, K, dys, P, S(0), col, P);
          col2im_add(col, ig, dxs, !outer);
        }
      }
    }
  }
}

template <class S, class D>
inline void run_kernel(Tag, op::Conv2dBackwardWeight, const Tensor<S, 4, D>& dy, const Tensor<S, 4, D>& x,
                                   Tensor<S, 4, D>& dw, const Conv2dArgs& a) {
  const Conv2dGeometry g = conv2d_geometry(x.shape(), dw.shape(), a);
  const Index N = g.batch, C = g.in_channels, O = g.out_channels, P = g.out_h * g.out_w;
  const Index Cg = g.group_in(), Og = g.group_out(), K = Cg * g.kernel_h * g.kernel_w;
  const Index HW = g.in_h * g.in_w, wsize = O * K;
  const bool pointwise = detail::conv2d_is_pointwise(g, a);
  const Im2colGeometry ig = detail::conv2d_im2col_geometry(g, a);
  const Index chunks = detail::conv2d_chunks(N);
  const bool outer = chunks > 1;
  auto cols = Tensor<S, 2, D>::uninitialized({pointwise ? 0 : chunks, K * P});
  auto partial = Tensor<S, 2, D>({outer ? chunks : 0, wsize});
  const S* dyd = dy.data();
  const S* xd = x.data();
#pragma omp parallel for schedule(static) if (outer)
  for (Index t = 0; t < chunks; ++t) {
    S* col = pointwise ? nullptr : cols.data() + t * K * P;
    S* target = outer ? partial.data() + t * wsize : dw.data();
    for (Index n = t * N / chunks; n < (t + 1) * N / chunks; ++n) {
      for (Index gr = 0; gr < g.groups; ++gr) {
        const S* xs = xd + (n * C + gr * Cg) * HW;
        if (!pointwise) im2col(xs, ig, col, !outer);
        detail::gemm_cpu<S>(false, true, Og, K, P, S(1), dyd + (n * O + gr * Og) * P, P,
                            pointwise ? xs : col, P, S(1), target + gr * Og * K, K);
      }
    }
  }
  if (outer) {
    S* dwd = dw.data();
#pragma omp parallel for schedule(static)
    for (Index i = 0; i < wsize; ++i) {
      S s = S(0);
      for (Index t = 0; t < chunks; ++t) s += partial.data()[t * wsize + i];
      dwd[i] += s;
    }
  }
}

template <class S, int R, class D>
inline void run_kernel(Tag, op::Conv2dBackwardBias, const Tensor<S, R, D>& dy, Tensor<S, 1, D>& db) {
  static_assert(R >= 2, "conv2d_backward_bias: dy needs a channel axis");
  const Index N = dy.dim(0), O = dy.dim(1), L = O == 0 || N == 0 ? 0 : dy.numel() / (N * O);
  const S* d = dy.data();
  S* out = db.data();
#pragma omp parallel for schedule(static)
  for (Index o = 0; o < O; ++o) {
    S s = S(0);
    for (Index n = 0; n < N; ++n)
      for (Index i = 0; i < L; ++i) s += d[(n * O + o) * L + i];
    out[o] += s;
  }
}

}  // namespace ras::kernels::cpu
