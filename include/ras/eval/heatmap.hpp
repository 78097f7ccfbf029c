// ras/eval/heatmap.hpp — anomaly-map visualisation: an (H, W) map coloured with viridis or
// inferno (colormaps.hpp) over a fixed [vmin, vmax] (so several images share one scale, like
// matplotlib's Normalize(vmin, vmax)), alpha-blended over the RGB image, with the ground-truth
// mask's contour drawn on top in a contrasting colour. Contour pixels are mask pixels with a
// 4-neighbour outside the mask; pixels beyond the image border count as outside, so a defect
// touching the border is closed. Output is an RGB uint8 HWC tensor; rgb_to_image turns it into an
// io::Image for io::save_png (ras/io/image.hpp, which links libstb; this header does not need it).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>

#include "ras/config.hpp"
#include "ras/eval/colormaps.hpp"
#include "ras/io/image_resize.hpp"
#include "ras/tensor.hpp"

namespace ras::eval {

struct OverlayOptions {
  Colormap cmap = Colormap::Viridis;
  double alpha = 0.5;          // weight of the colour-mapped map; the image gets 1 - alpha
  Rgb contour = {255, 0, 0};   // red: absent from viridis (with inferno, {0, 255, 255} contrasts better)
};

struct ValueRange {
  double min, max;
};

// Smallest and largest finite value of one or several maps (for a shared colour scale).
template <class S>
inline ValueRange value_range(std::span<const S> values) {
  ValueRange r{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (S v : values)
    if (std::isfinite(v)) {
      r.min = std::min(r.min, static_cast<double>(v));
      r.max = std::max(r.max, static_cast<double>(v));
    }
  RAS_CHECK(r.min <= r.max, "value_range: expected at least one finite value among ", values.size());
  return r;
}

// map: (H, W) -> (H, W, 3) RGB, (v - vmin) / (vmax - vmin) through the colormap (vmin == vmax maps
// everything to the first colour, as matplotlib does).
template <class T>
inline Tensor<std::uint8_t, 3> colorize(TensorView<T, 2> map, double vmin, double vmax,
                                        Colormap cmap = Colormap::Viridis) {
  static_assert(std::is_floating_point_v<std::remove_const_t<T>>, "colorize: the map must be float or double");
  RAS_CHECK(std::isfinite(vmin) && std::isfinite(vmax) && vmin <= vmax,
            "colorize: expected finite vmin <= vmax but got vmin = ", vmin, ", vmax = ", vmax);
  const Index h = map.dim(0), w = map.dim(1);
  auto out = Tensor<std::uint8_t, 3>::uninitialized({h, w, 3});
  const auto& table = colormap_table(cmap);
  const double scale = vmax > vmin ? 1.0 / (vmax - vmin) : 0.0;
  for (Index i = 0; i < h * w; ++i) {
    double v = static_cast<double>(map.data()[i]);
    const Rgb& c = table[colormap_index(scale > 0.0 ? (v - vmin) * scale : 0.0)];
    std::copy(c.begin(), c.end(), out.data() + 3 * i);
  }
  return out;
}

// mask: (H, W), non-zero = inside -> (H, W) with 1 on the contour, 0 elsewhere.
inline Tensor<std::uint8_t, 2> mask_contour(TensorView<const std::uint8_t, 2> mask) {
  const Index h = mask.dim(0), w = mask.dim(1);
  Tensor<std::uint8_t, 2> out({h, w});
  auto inside = [&](Index y, Index x) { return y >= 0 && y < h && x >= 0 && x < w && mask(y, x) != 0; };
  for (Index y = 0; y < h; ++y)
    for (Index x = 0; x < w; ++x)
      if (mask(y, x) != 0 &&
          (!inside(y - 1, x) || !inside(y + 1, x) || !inside(y, x - 1) || !inside(y, x + 1)))
        out(y, x) = 1;
  return out;
}

// image: (H, W, 3) RGB, map: (H, W), mask: (H, W) or an empty view (no contour) -> (H, W, 3) RGB.
template <class T>
inline Tensor<std::uint8_t, 3> heatmap_overlay(TensorView<const std::uint8_t, 3> image, TensorView<T, 2> map,
                                               double vmin, double vmax,
                                               TensorView<const std::uint8_t, 2> mask = {},
                                               const OverlayOptions& opt = {}) {
  const Index h = map.dim(0), w = map.dim(1);
  check_same_shape<3>({h, w, 3}, image.shape(), "heatmap_overlay: image (H, W, 3) must match the map (H, W)");
  if (mask.data() != nullptr)
    check_same_shape<2>({h, w}, mask.shape(), "heatmap_overlay: mask (H, W) must match the map (H, W)");
  RAS_CHECK(opt.alpha >= 0.0 && opt.alpha <= 1.0, "heatmap_overlay: expected 0 <= alpha <= 1 but got ",
            opt.alpha);
  auto out = colorize(map, vmin, vmax, opt.cmap);
  for (Index i = 0; i < 3 * h * w; ++i)
    out.data()[i] = static_cast<std::uint8_t>(
        std::lround(opt.alpha * out.data()[i] + (1.0 - opt.alpha) * image.data()[i]));
  if (mask.data() != nullptr) {
    auto contour = mask_contour(mask);
    for (Index i = 0; i < h * w; ++i)
      if (contour.data()[i]) std::copy(opt.contour.begin(), opt.contour.end(), out.data() + 3 * i);
  }
  return out;
}

// Same from owning tensors (mask may be an empty Tensor: no contour).
template <class S>
inline Tensor<std::uint8_t, 3> heatmap_overlay(const Tensor<std::uint8_t, 3>& image, const Tensor<S, 2>& map,
                                               double vmin, double vmax, const Tensor<std::uint8_t, 2>& mask,
                                               const OverlayOptions& opt = {}) {
  TensorView<const std::uint8_t, 2> m;
  if (!mask.empty()) m = mask.view();
  return heatmap_overlay(image.view(), map.view(), vmin, vmax, m, opt);
}

// image: io::Image of 3 channels (as io::load_image gives it), otherwise as above.
template <class T>
inline Tensor<std::uint8_t, 3> heatmap_overlay(const io::Image& image, TensorView<T, 2> map, double vmin,
                                               double vmax,
                                               TensorView<const std::uint8_t, 2> mask = {},
                                               const OverlayOptions& opt = {}) {
  RAS_CHECK(image.channels == 3, "heatmap_overlay: expected an RGB image (3 channels) but got ", image.channels);
  return heatmap_overlay(TensorView<const std::uint8_t, 3>(image.pixels.data(), {image.height, image.width, 3}),
                         map, vmin, vmax, mask, opt);
}

// rgb: (H, W, 3) -> io::Image, e.g. io::save_png(path, rgb_to_image(heatmap_overlay(...))).
inline io::Image rgb_to_image(const Tensor<std::uint8_t, 3>& rgb) {
  RAS_CHECK(rgb.dim(2) == 3, "rgb_to_image: expected shape (H, W, 3) but got ", shape_string(rgb.shape()));
  io::Image img(rgb.dim(0), rgb.dim(1), 3);
  std::copy(rgb.data(), rgb.data() + rgb.numel(), img.pixels.begin());
  return img;
}

}  // namespace ras::eval
