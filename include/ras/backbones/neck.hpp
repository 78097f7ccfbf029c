// ras/backbones/neck.hpp — the MFCN neck of UniAD / RAS (models/necks/mfcn.py): every feature level is
// "patchified" by a 3x3 mean over nn.Unfold(3, stride 1, padding 1) patches (= avg_pool2d 3x3,
// stride 1, padding 1, count_include_pad=True: zero padding counted, border values shrink), then
// resized by nn.UpsamplingBilinear2d (F.interpolate bilinear, align_corners=True, no antialias) to
// the grid of the last level (stride 16: 14x14 at 224), and the levels are concatenated along
// channels in level order (272 channels for EfficientNet-B4 levels 1-4).
#pragma once

#include <vector>

#include "ras/autograd/ops_pool.hpp"
#include "ras/autograd/ops_shape.hpp"

namespace ras::nn {

// taps: level l (N, C_l, H_l, W_l), the last one on the output grid -> (N, sum C_l, H_L, W_L)
template <class S, class D>
inline autograd::Var<S, 4, D> mfcn_neck(const std::vector<autograd::Var<S, 4, D>>& taps) {
  RAS_CHECK(!taps.empty(), "mfcn_neck: expected at least one feature level but got none");
  const Index N = taps.back().dim(0), H = taps.back().dim(2), W = taps.back().dim(3);
  for (std::size_t l = 0; l < taps.size(); ++l)
    RAS_CHECK(taps[l].dim(0) == N && taps[l].dim(2) >= H && taps[l].dim(3) >= W, "mfcn_neck: level ", l,
              " has shape ", shape_string(taps[l].shape()), "; expected batch ", N,
              " and a grid of at least the last level's ", H, "x", W);
  const auto patchify = autograd::Pool2dArgs::square(3, 1, 1, /*count_include_pad=*/true);
  std::vector<autograd::Var<S, 4, D>> levels;
  levels.reserve(taps.size());
  for (const auto& t : taps) {
    auto p = autograd::avg_pool2d(t, patchify);
    // align_corners=True to the same size is the identity: skipped, as for the reference's level 4
    if (p.dim(2) != H || p.dim(3) != W) p = autograd::interpolate_bilinear(p, H, W, /*align_corners=*/true);
    levels.push_back(std::move(p));
  }
  return levels.size() == 1 ? levels[0] : autograd::concat(levels, 1);
}

}  // namespace ras::nn
