// ras/kernels/resample.hpp — bilinear resizing of NCHW maps, exactly as
// torch.nn.functional.interpolate(mode="bilinear", align_corners=..., antialias=False) with an
// explicit output size (aten/src/ATen/native/UpSample.h: area_pixel_compute_scale,
// area_pixel_compute_source_index, compute_source_index_and_lambda). Upsampling and downsampling
// both read the two nearest source pixels per axis. The backward pass scatters each output
// gradient back onto those four pixels. OpenMP over the N * C planes.
#pragma once

#include <algorithm>
#include <vector>

#include "ras/kernels/backend.hpp"
#include "ras/tensor.hpp"

namespace ras::kernels {

namespace detail {
// Per output index along one axis: the two source indices and their weights.
template <class S>
struct LinearTaps {
  std::vector<Index> i0, i1;
  std::vector<S> l0, l1;
};

template <class S>
inline LinearTaps<S> linear_taps(Index in, Index out, bool align_corners) {
  LinearTaps<S> t;
  t.i0.resize(static_cast<std::size_t>(out));
  t.i1.resize(static_cast<std::size_t>(out));
  t.l0.resize(static_cast<std::size_t>(out));
  t.l1.resize(static_cast<std::size_t>(out));
  // align_corners: corners map to corners, scale (in - 1) / (out - 1); otherwise pixel centres,
  // scale in / out and source = scale * (dst + 0.5) - 0.5 clamped at 0.
  const S scale = align_corners ? (out > 1 ? S(in - 1) / S(out - 1) : S(0)) : S(in) / S(out);
  for (Index o = 0; o < out; ++o) {
    const auto k = static_cast<std::size_t>(o);
    if (in == out) {
      t.i0[k] = t.i1[k] = o;
      t.l0[k] = S(1);
      t.l1[k] = S(0);
      continue;
    }
    S src = align_corners ? scale * S(o) : scale * (S(o) + S(0.5)) - S(0.5);
    if (!align_corners && src < S(0)) src = S(0);
    const Index i0 = static_cast<Index>(src);
    t.i0[k] = i0;
    t.i1[k] = i0 + (i0 < in - 1 ? 1 : 0);
    t.l1[k] = std::min(std::max(src - S(i0), S(0)), S(1));
    t.l0[k] = S(1) - t.l1[k];
  }
  return t;
}
}  // namespace detail

// x: (N, C, H, W) -> (N, C, out_h, out_w)
template <class S, class D>
inline Tensor<S, 4, D> interpolate_bilinear_forward(const Tensor<S, 4, D>& x, Index out_h,
                                                    Index out_w, bool align_corners) {
  RAS_CHECK(out_h >= 1 && out_w >= 1,
            "interpolate_bilinear: expected an output size of at least 1x1 but got ", out_h, "x",
            out_w, " for input shape ", shape_string(x.shape()));
  RAS_CHECK(x.dim(2) >= 1 && x.dim(3) >= 1, "interpolate_bilinear: expected a non-empty input but got shape ",
            shape_string(x.shape()));
  return dispatch<op::InterpolateBilinearForward, D>(x, out_h, out_w, align_corners);
}

// dy: (N, C, out_h, out_w) -> dx: (N, C, H, W), ADDED into dx (scatter onto the four taps).
template <class S, class D>
inline void interpolate_bilinear_backward(const Tensor<S, 4, D>& dy, Tensor<S, 4, D>& dx,
                                          bool align_corners) {
  RAS_CHECK(dy.dim(0) == dx.dim(0) && dy.dim(1) == dx.dim(1),
            "interpolate_bilinear_backward: dy shape ", shape_string(dy.shape()),
            " does not match dx shape ", shape_string(dx.shape()));
  dispatch<op::InterpolateBilinearBackward, D>(dy, dx, align_corners);
}

}  // namespace ras::kernels

#include "ras/kernels/cpu/resample.hpp"
#include "ras/kernels/reference/resample.hpp"
