// ras/kernels/cuda/resample.cuh — the Cuda backend of kernels/resample.hpp: the taps come from
// detail::linear_taps on the host (the same numbers as the reference) and are copied to the
// device. Forward one thread per output pixel; backward one thread per input pixel, summing the
// outputs that tap it through per-axis lists built on the host (a gather: no atomics).
#pragma once

#include <cstddef>
#include <vector>

#include "ras/kernels/cuda/common.cuh"
#include "ras/kernels/resample.hpp"

namespace ras::kernels::cuda {

template <class S>
inline Tensor<S, 4, Cuda> run_kernel(Tag, op::InterpolateBilinearForward, const Tensor<S, 4, Cuda>& x, Index out_h,
                                     Index out_w, bool align_corners) {
  const Index N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  RAS_CHECK(out_h >= 1 && out_w >= 1, "interpolate_bilinear: expected an output size of at least 1x1 but got ", out_h,
            "x", out_w, " for input shape ", shape_string(x.shape()));
  RAS_CHECK(H >= 1 && W >= 1, "interpolate_bilinear: expected a non-empty input but got shape ",
            shape_string(x.shape()));
  const auto rows = detail::linear_taps<S>(H, out_h, align_corners);
  const auto cols = detail::linear_taps<S>(W, out_w, align_corners);
  auto ri0 = to_device(rows.i0), ri1 = to_device(rows.i1), ci0 = to_device(cols.i0), ci1 = to_device(cols.i1);
  auto rl0 = to_device(rows.l0), rl1 = to_device(rows.l1), cl0 = to_device(cols.l0), cl1 = to_device(cols.l1);
  auto y = Tensor<S, 4, Cuda>::uninitialized({N, C, out_h, out_w});
  const Index* h0s = ri0.get();
  const Index* h1s = ri1.get();
  const Index* w0s = ci0.get();
  const Index* w1s = ci1.get();
  const S* a0 = rl0.get();
  const S* a1 = rl1.get();
  const S* b0 = cl0.get();
  const S* b1 = cl1.get();
  const S* xd = x.data();
  S* yd = y.data();
  for_each_index(y.numel(), [=] __device__(Index t) {
    const Index j = t % out_w, i = (t / out_w) % out_h, nc = t / (out_w * out_h);
    const Index h0 = h0s[i], h1 = h1s[i], w0 = w0s[j], w1 = w1s[j];
    const S* plane = xd + nc * H * W;
    yd[t] = a0[i] * (b0[j] * plane[h0 * W + w0] + b1[j] * plane[h0 * W + w1]) +
            a1[i] * (b0[j] * plane[h1 * W + w0] + b1[j] * plane[h1 * W + w1]);
  }, "interpolate_bilinear_forward");
  return y;
}

namespace resample_detail {
// For each source index h: the (output index, weight) pairs that tap it, as CSR (begin[h], end =
// begin[h + 1]).
template <class S>
struct Adjoint {
  std::vector<Index> begin, out;
  std::vector<S> weight;
};
template <class S>
inline Adjoint<S> adjoint(const detail::LinearTaps<S>& t, Index in) {
  Adjoint<S> a;
  std::vector<std::vector<std::pair<Index, S>>> lists(static_cast<std::size_t>(in));
  for (std::size_t o = 0; o < t.i0.size(); ++o) {
    lists[static_cast<std::size_t>(t.i0[o])].push_back({Index(o), t.l0[o]});
    lists[static_cast<std::size_t>(t.i1[o])].push_back({Index(o), t.l1[o]});
  }
  a.begin.push_back(0);
  for (const auto& l : lists) {
    for (const auto& [o, w] : l) a.out.push_back(o), a.weight.push_back(w);
    a.begin.push_back(static_cast<Index>(a.out.size()));
  }
  return a;
}
}  // namespace resample_detail

template <class S>
inline void run_kernel(Tag, op::InterpolateBilinearBackward, const Tensor<S, 4, Cuda>& dy, Tensor<S, 4, Cuda>& dx,
                       bool align_corners) {
  const Index H = dx.dim(2), W = dx.dim(3);
  const Index out_h = dy.dim(2), out_w = dy.dim(3);
  RAS_CHECK(dy.dim(0) == dx.dim(0) && dy.dim(1) == dx.dim(1), "interpolate_bilinear_backward: dy shape ",
            shape_string(dy.shape()), " does not match dx shape ", shape_string(dx.shape()));
  if (dx.numel() == 0 || dy.numel() == 0) return;
  const auto rows = resample_detail::adjoint(detail::linear_taps<S>(H, out_h, align_corners), H);
  const auto cols = resample_detail::adjoint(detail::linear_taps<S>(W, out_w, align_corners), W);
  auto rb = to_device(rows.begin), ro = to_device(rows.out), cb = to_device(cols.begin), co = to_device(cols.out);
  auto rw = to_device(rows.weight), cw = to_device(cols.weight);
  const Index* rbd = rb.get();
  const Index* rod = ro.get();
  const Index* cbd = cb.get();
  const Index* cod = co.get();
  const S* rwd = rw.get();
  const S* cwd = cw.get();
  const S* dyd = dy.data();
  S* dxd = dx.data();
  for_each_index(dx.numel(), [=] __device__(Index t) {
    const Index w = t % W, h = (t / W) % H, nc = t / (W * H);
    const S* plane = dyd + nc * out_h * out_w;
    S sum = S(0);
    for (Index p = rbd[h]; p < rbd[h + 1]; ++p)
      for (Index q = cbd[w]; q < cbd[w + 1]; ++q) sum += rwd[p] * cwd[q] * plane[rod[p] * out_w + cod[q]];
    dxd[t] += sum;
  }, "interpolate_bilinear_backward");
}

}  // namespace ras::kernels::cuda
