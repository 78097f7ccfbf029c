// ras/kernels/cpu/im2col.hpp — im2col / col2im for one NCHW image (or one group's contiguous channel
// slab) with stride, dilation and asymmetric padding, as Caffe's and PyTorch's im2col
// (aten/src/ATen/native/im2col.h). Column layout: row (c, ky, kx), column (oy, ox), so col is
// (C * kh * kw, H' * W') and a convolution is W (O, C * kh * kw) x col. Bottom and right padding
// enter only through out_h / out_w (positions past the image read as zero).
#pragma once

#include <algorithm>

#include "ras/config.hpp"

namespace ras::kernels {

// Geometry of one im2col: the input slab, the kernel window and the output grid.
struct Im2colGeometry {
  Index channels = 0, height = 0, width = 0;
  Index kernel_h = 1, kernel_w = 1;
  Index stride_h = 1, stride_w = 1;
  Index pad_top = 0, pad_left = 0;
  Index dilation_h = 1, dilation_w = 1;
  Index out_h = 0, out_w = 0;

  Index rows() const { return channels * kernel_h * kernel_w; }
  Index cols() const { return out_h * out_w; }
};

namespace detail {
// Output positions o in [0, out) with 0 <= o * stride + offset < size form [lo, hi) (lo <= hi).
inline void valid_output_range(Index offset, Index stride, Index size, Index out, Index& lo,
                               Index& hi) {
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  hi = size - 1 - offset < 0 ? 0 : (size - 1 - offset) / stride + 1;
  lo = std::min(lo, out);
  hi = std::max(lo, std::min(hi, out));
}
}  // namespace detail

// x: (channels, height, width) -> col: (channels * kh * kw, out_h * out_w), overwritten.
// Requires col not to alias x. parallel: split the rows of col over OpenMP threads.
template <class S>
inline void im2col(const S* x, const Im2colGeometry& g, S* col, bool parallel) {
  const Index kk = g.kernel_h * g.kernel_w, P = g.cols();
#pragma omp parallel for schedule(static) if (parallel)
  for (Index r = 0; r < g.rows(); ++r) {
    const Index c = r / kk, ky = (r % kk) / g.kernel_w, kx = r % g.kernel_w;
    const S* plane = x + c * g.height * g.width;
    const Index off_x = kx * g.dilation_w - g.pad_left;
    Index lo, hi;
    detail::valid_output_range(off_x, g.stride_w, g.width, g.out_w, lo, hi);
    for (Index oy = 0; oy < g.out_h; ++oy) {
      S* o = col + r * P + oy * g.out_w;
      const Index iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
      if (iy < 0 || iy >= g.height) {
        std::fill(o, o + g.out_w, S(0));
        continue;
      }
      const S* row = plane + iy * g.width;
      std::fill(o, o + lo, S(0));
      if (g.stride_w == 1) {
        for (Index ox = lo; ox < hi; ++ox) o[ox] = row[ox + off_x];
      } else {
        for (Index ox = lo; ox < hi; ++ox) o[ox] = row[ox * g.stride_w + off_x];
      }
      std::fill(o + hi, o + g.out_w, S(0));
    }
  }
}

// col: (channels * kh * kw, out_h * out_w) -> x: (channels, height, width), ADDED into x (the
// adjoint of im2col). parallel: split the channels over OpenMP threads (each writes its own plane).
template <class S>
inline void col2im_add(const S* col, const Im2colGeometry& g, S* x, bool parallel) {
  const Index P = g.cols();
#pragma omp parallel for schedule(static) if (parallel)
  for (Index c = 0; c < g.channels; ++c) {
    S* plane = x + c * g.height * g.width;
    for (Index ky = 0; ky < g.kernel_h; ++ky) {
      for (Index kx = 0; kx < g.kernel_w; ++kx) {
        const S* in = col + ((c * g.kernel_h + ky) * g.kernel_w + kx) * P;
        const Index off_x = kx * g.dilation_w - g.pad_left;
        Index lo, hi;
        detail::valid_output_range(off_x, g.stride_w, g.width, g.out_w, lo, hi);
        for (Index oy = 0; oy < g.out_h; ++oy) {
          const Index iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
          if (iy < 0 || iy >= g.height) continue;
          S* row = plane + iy * g.width;
          const S* src = in + oy * g.out_w;
          for (Index ox = lo; ox < hi; ++ox) row[ox * g.stride_w + off_x] += src[ox];
        }
      }
    }
  }
}

}  // namespace ras::kernels
