// ras/model/scoring.hpp — anomaly maps and image scores from reconstructed features, as the
// official RAS code computes them (ras.py forward; utils/eval_helper.py EvalImageMax):
//   map = sqrt(sum_c (rec - f)^2) on the feature grid, upsampled bilinearly with align_corners=True
//   (nn.UpsamplingBilinear2d) to the input size; score = max of a k x k stride-1 unpadded box filter.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "ras/kernels/pool.hpp"
#include "ras/kernels/resample.hpp"
#include "ras/tensor.hpp"

namespace ras::model {

// rec, features: (B, C, h, w) -> (B, 1, h, w), the L2 norm of the difference over channels.
template <class S, class D>
inline Tensor<S, 4, D> anomaly_map_grid(const Tensor<S, 4, D>& rec, const Tensor<S, 4, D>& features) {
  check_same_shape<4>(features.shape(), rec.shape(), "anomaly_map_grid: reconstruction");
  const Index B = rec.dim(0), C = rec.dim(1), L = rec.dim(2) * rec.dim(3);
  auto map = Tensor<S, 4, D>::uninitialized({B, 1, rec.dim(2), rec.dim(3)});
  for (Index b = 0; b < B; ++b)
    for (Index l = 0; l < L; ++l) {
      double s = 0;
      for (Index c = 0; c < C; ++c) {
        const double d = double(rec.data()[(b * C + c) * L + l]) - double(features.data()[(b * C + c) * L + l]);
        s += d * d;
      }
      map.data()[b * L + l] = static_cast<S>(std::sqrt(s));
    }
  return map;
}

// map: (B, 1, h, w) -> (B, 1, out_h, out_w), bilinear with align_corners=True.
template <class S, class D>
inline Tensor<S, 4, D> upsample_map(const Tensor<S, 4, D>& map, Index out_h, Index out_w) {
  return kernels::interpolate_bilinear_forward(map, out_h, out_w, /*align_corners=*/true);
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
  std::vector<double> scores(static_cast<std::size_t>(B));
  for (Index b = 0; b < B; ++b)
    scores[static_cast<std::size_t>(b)] = *std::max_element(pooled.data() + b * n, pooled.data() + (b + 1) * n);
  return scores;
}

}  // namespace ras::model
