// ras/io/image_resize.hpp — the Image type (HWC, interleaved channels) and Pillow's resize on 8-bit
// images, reproduced bit for bit: Image.resize(size, Image.BILINEAR) (Pillow >= 7, libImaging/
// Resample.c: separable triangle filter whose support grows with the downscale factor, 22-bit
// fixed-point coefficients, horizontal pass then vertical pass, each rounded to uint8) and
// Image.resize(size, Image.NEAREST) (libImaging/Geometry.c ImagingScaleAffine). This is what
// torchvision.transforms.Resize does on a PIL image, i.e. the RAS/UniAD preprocessing.
// No stb dependency: decoding and encoding live in ras/io/image.hpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "ras/config.hpp"

namespace ras::io {

// An image of height x width pixels with `channels` interleaved values per pixel, row-major (HWC).
// T is std::uint8_t (Image) or float (ImageF, values on the 0..255 scale).
template <class T>
struct BasicImage {
  Index height = 0;
  Index width = 0;
  int channels = 0;
  std::vector<T> pixels;  // (H, W, C)

  BasicImage() = default;
  BasicImage(Index h, Index w, int c) : height(h), width(w), channels(c) {
    RAS_CHECK(h >= 0 && w >= 0 && c >= 1 && c <= 4, "Image: expected height, width >= 0 and 1..4 channels but got (",
              h, ", ", w, ", ", c, ")");
    pixels.assign(static_cast<std::size_t>(h * w * c), T(0));
  }

  T& operator()(Index y, Index x, int c) { return pixels[static_cast<std::size_t>((y * width + x) * channels + c)]; }
  const T& operator()(Index y, Index x, int c) const {
    return pixels[static_cast<std::size_t>((y * width + x) * channels + c)];
  }
  Index numel() const { return height * width * channels; }
  bool empty() const { return pixels.empty(); }
};

using Image = BasicImage<std::uint8_t>;
using ImageF = BasicImage<float>;

namespace detail {

// Pillow's fixed point: 32 bits minus 8 for the pixel value minus 2 guard bits.
inline constexpr int pil_precision_bits = 32 - 8 - 2;

// precompute_coeffs (Resample.c) for the BILINEAR filter (support 1) on the whole input range
// [0, in_size): per output index, the first input index, the tap count and ksize fixed-point weights.
struct PilCoeffs {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<std::int32_t> weights;  // (out_size, ksize)
};

inline PilCoeffs pil_bilinear_coeffs(Index in_size, Index out_size) {
  const double support_base = 1.0;  // bilinear_filter's support
  double scale = static_cast<double>(static_cast<float>(in_size) - 0.0f) / static_cast<double>(out_size);
  double filterscale = scale < 1.0 ? 1.0 : scale;
  double support = support_base * filterscale;
  PilCoeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(static_cast<std::size_t>(out_size));
  c.count.resize(static_cast<std::size_t>(out_size));
  c.weights.assign(static_cast<std::size_t>(out_size) * static_cast<std::size_t>(c.ksize), 0);
  std::vector<double> k(static_cast<std::size_t>(c.ksize));
  const int in = static_cast<int>(in_size);
  for (int xx = 0; xx < static_cast<int>(out_size); ++xx) {
    double center = 0.0 + (xx + 0.5) * scale;
    double ww = 0.0;
    double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in) xmax = in;
    xmax -= xmin;
    for (int x = 0; x < xmax; ++x) {
      double t = (x + xmin - center + 0.5) * ss;
      if (t < 0.0) t = -t;
      double w = t < 1.0 ? 1.0 - t : 0.0;  // bilinear_filter
      k[static_cast<std::size_t>(x)] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x)
      if (ww != 0.0) k[static_cast<std::size_t>(x)] /= ww;
    // normalize_coeffs_8bpc: round half away from zero to 22 fractional bits.
    std::int32_t* dst = &c.weights[static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize)];
    for (int x = 0; x < xmax; ++x) {
      double v = k[static_cast<std::size_t>(x)] * static_cast<double>(1 << pil_precision_bits);
      dst[x] = static_cast<std::int32_t>(v < 0 ? -0.5 + v : 0.5 + v);
    }
    c.first[static_cast<std::size_t>(xx)] = xmin;
    c.count[static_cast<std::size_t>(xx)] = xmax;
  }
  return c;
}

// clip8: the accumulator (with its 1 << 21 rounding bias) back to a byte.
inline std::uint8_t pil_clip8(std::int32_t v) {
  if (v >= (1 << pil_precision_bits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<std::uint8_t>(v >> pil_precision_bits);
}

}  // namespace detail

// Pillow's Image.resize((out_w, out_h), Image.BILINEAR) on an 8-bit image, bit-exact. Every channel
// is filtered independently, as Pillow does for modes "L" and "RGB" (Pillow premultiplies "RGBA"
// by alpha first; this function does not). Same size returns a copy, as Pillow does.
// img: (H, W, C) -> (out_h, out_w, C)
inline Image resize_bilinear(const Image& img, Index out_h, Index out_w) {
  RAS_CHECK(out_h >= 1 && out_w >= 1, "resize_bilinear: expected an output size >= 1x1 but got ", out_h, "x", out_w);
  RAS_CHECK(img.height >= 1 && img.width >= 1, "resize_bilinear: expected a non-empty image but got ", img.height,
            "x", img.width);
  RAS_CHECK(static_cast<Index>(img.pixels.size()) == img.numel(), "resize_bilinear: the image holds ",
            img.pixels.size(), " values but its shape (", img.height, ", ", img.width, ", ", img.channels,
            ") needs ", img.numel());
  const int C = img.channels;
  const bool need_h = out_w != img.width, need_v = out_h != img.height;
  if (!need_h && !need_v) return img;

  auto hc = detail::pil_bilinear_coeffs(img.width, out_w);
  auto vc = detail::pil_bilinear_coeffs(img.height, out_h);
  constexpr std::int32_t half = std::int32_t(1) << (detail::pil_precision_bits - 1);

  // Horizontal pass over the rows the vertical pass will read: [y_first, y_last).
  const Index y_first = vc.first.front();
  const Index y_last = vc.first.back() + vc.count.back();
  Image tmp;
  const Image* src = &img;
  Index row_offset = 0;  // source row of tmp's row 0
  if (need_h) {
    tmp = Image(y_last - y_first, out_w, C);
    const Index rows = y_last - y_first;
#pragma omp parallel for schedule(static) if (rows * out_w * hc.ksize > (Index(1) << 16))
    for (Index y = 0; y < rows; ++y) {
      const std::uint8_t* in_row = &img.pixels[static_cast<std::size_t>((y + y_first) * img.width * C)];
      std::uint8_t* out_row = &tmp.pixels[static_cast<std::size_t>(y * out_w * C)];
      for (Index xx = 0; xx < out_w; ++xx) {
        const int xmin = hc.first[static_cast<std::size_t>(xx)], n = hc.count[static_cast<std::size_t>(xx)];
        const std::int32_t* k = &hc.weights[static_cast<std::size_t>(xx) * static_cast<std::size_t>(hc.ksize)];
        for (int c = 0; c < C; ++c) {
          std::int32_t ss = half;
          for (int x = 0; x < n; ++x) ss += static_cast<std::int32_t>(in_row[(xmin + x) * C + c]) * k[x];
          out_row[xx * C + c] = detail::pil_clip8(ss);
        }
      }
    }
    src = &tmp;
    row_offset = y_first;
  }
  if (!need_v) return tmp;

  Image out(out_h, out_w, C);
  const Index W = src->width;
#pragma omp parallel for schedule(static) if (out_h * W * vc.ksize > (Index(1) << 16))
  for (Index yy = 0; yy < out_h; ++yy) {
    const Index ymin = vc.first[static_cast<std::size_t>(yy)] - row_offset;
    const int n = vc.count[static_cast<std::size_t>(yy)];
    const std::int32_t* k = &vc.weights[static_cast<std::size_t>(yy) * static_cast<std::size_t>(vc.ksize)];
    std::uint8_t* out_row = &out.pixels[static_cast<std::size_t>(yy * W * C)];
    for (Index i = 0; i < W * C; ++i) {
      std::int32_t ss = half;
      for (int y = 0; y < n; ++y)
        ss += static_cast<std::int32_t>(src->pixels[static_cast<std::size_t>((ymin + y) * W * C + i)]) * k[y];
      out_row[i] = detail::pil_clip8(ss);
    }
  }
  return out;
}

// Pillow's Image.resize((out_w, out_h), Image.NEAREST), bit-exact: output column x reads source
// column int(x_o) with x_o = scale / 2 accumulated by scale = in_w / out_w in double (the
// incremental sum of Geometry.c, which can differ from int((x + 0.5) * scale) at exact ties);
// rows likewise. Works for any T and channel count (masks are 1-channel images).
// img: (H, W, C) -> (out_h, out_w, C)
template <class T>
inline BasicImage<T> resize_nearest(const BasicImage<T>& img, Index out_h, Index out_w) {
  RAS_CHECK(out_h >= 1 && out_w >= 1, "resize_nearest: expected an output size >= 1x1 but got ", out_h, "x", out_w);
  RAS_CHECK(img.height >= 1 && img.width >= 1, "resize_nearest: expected a non-empty image but got ", img.height,
            "x", img.width);
  RAS_CHECK(static_cast<Index>(img.pixels.size()) == img.numel(), "resize_nearest: the image holds ",
            img.pixels.size(), " values but its shape (", img.height, ", ", img.width, ", ", img.channels,
            ") needs ", img.numel());
  if (out_h == img.height && out_w == img.width) return img;
  auto table = [](Index in_size, Index out_size) {
    // a[0] = (double)(box[2] - box[0]) / xsize with a float box; xo = a[2] + a[0] * 0.5.
    const double a = static_cast<double>(static_cast<float>(in_size) - 0.0f) / static_cast<double>(out_size);
    std::vector<Index> idx(static_cast<std::size_t>(out_size));
    double o = 0.0 + a * 0.5;
    for (Index i = 0; i < out_size; ++i) {
      Index v = o < 0.0 ? -1 : static_cast<Index>(static_cast<int>(o));
      idx[static_cast<std::size_t>(i)] = v < 0 ? 0 : (v >= in_size ? in_size - 1 : v);  // never hit: a guard
      o += a;
    }
    return idx;
  };
  const auto xs = table(img.width, out_w), ys = table(img.height, out_h);
  const int C = img.channels;
  BasicImage<T> out(out_h, out_w, C);
  for (Index y = 0; y < out_h; ++y)
    for (Index x = 0; x < out_w; ++x)
      for (int c = 0; c < C; ++c) out(y, x, c) = img(ys[static_cast<std::size_t>(y)], xs[static_cast<std::size_t>(x)], c);
  return out;
}

}  // namespace ras::io
