// ras/model/scoring.hpp — anomaly maps and image scores from reconstructed features, as the
// official RAS code computes them (ras.py forward; utils/eval_helper.py EvalImageMax):
//   map = sqrt(sum_c (rec - f)^2) on the feature grid, upsampled bilinearly with align_corners=True
//   (nn.UpsamplingBilinear2d) to the input size; score = max of a k x k stride-1 unpadded box filter.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "ras/kernels/pool.hpp"
#include "ras/design_extents.hpp"
#include "ras/kernels/model.hpp"
#include "ras/kernels/resample.hpp"
#include "ras/tensor.hpp"

namespace ras::model {

// rec, features: (B, C, h, w) -> (B, 1, h, w), the L2 norm of the difference over channels.
template <class S, class D>
inline MapBatch<S, D> anomaly_map_grid(const Tensor<S, 4, D>& rec, const Tensor<S, 4, D>& features) {
  check_same_shape<4>(features.shape(), rec.shape(), "anomaly_map_grid: reconstruction");
  const Index B = rec.dim(0), C = rec.dim(1), L = rec.dim(2) * rec.dim(3);
  auto map = Tensor<S, 4, D>::uninitialized({B, 1, rec.dim(2), rec.dim(3)});
  kernels::channel_distance<S, D>(B, C, L, rec.data(), features.data(), map.data());
  return MapBatch<S, D>(std::move(map));
}

// map: (B, 1, h, w) -> (B, 1, out_h, out_w), bilinear with align_corners=True. A plain tensor is
// checked at run time; a ShapedTensor whose extents are not a map's does not compile.
template <class S, class D>
inline MapBatch<S, D> upsample_map(const Tensor<S, 4, D>& map, Index out_h, Index out_w) {
  RAS_CHECK(map.dim(1) == 1, "upsample_map: expected a (B, 1, H, W) map but got ", shape_string(map.shape()));
  return MapBatch<S, D>(kernels::interpolate_bilinear_forward(map, out_h, out_w, /*align_corners=*/true));
}
template <class S, class Ext, class D>
inline MapBatch<S, D> upsample_map(const ShapedTensor<S, Ext, D>& map, Index out_h, Index out_w) {
  static_assert(extents_compatible<Ext, MapExtents>, "upsample_map: expected anomaly maps of extents (N, 1, H, W)");
  return upsample_map(map.tensor(), out_h, out_w);
}

// map: (B, 1, H, W) -> B scores: max over positions of the mean of a kernel x kernel window
// (stride 1, no padding). kernel is clipped to the map size.
template <class S, class D>
inline std::vector<double> image_scores(const Tensor<S, 4, D>& map, Index kernel = 16) {
  RAS_CHECK(map.dim(1) == 1, "image_scores: expected a (B, 1, H, W) map but got ", shape_string(map.shape()));
  RAS_CHECK(kernel >= 1, "image_scores: kernel must be >= 1 but got ", kernel);
  const Index k = std::min({kernel, map.dim(2), map.dim(3)});
  auto pooled = kernels::avg_pool2d_forward(map, kernels::Pool2dArgs::square(k, 1, 0, true));
  const Index B = map.dim(0), n = pooled.dim(2) * pooled.dim(3);
  auto best = Tensor<S, 1, D>::uninitialized({B});
  kernels::row_max<S, D>(B, n, pooled.data(), best.data());
  const auto host = best.template to<Cpu>();
  return std::vector<double>(host.data(), host.data() + B);
}
template <class S, class Ext, class D>
inline std::vector<double> image_scores(const ShapedTensor<S, Ext, D>& map, Index kernel = 16) {
  static_assert(extents_compatible<Ext, MapExtents>, "image_scores: expected anomaly maps of extents (N, 1, H, W)");
  return image_scores(map.tensor(), kernel);
}

}  // namespace ras::model
