// ras/eval/aupro.hpp — area under the per-region-overlap (PRO) curve, as the MVTec AD reference
// evaluation (Bergmann et al., IJCV 2021; mvtec_ad_evaluation/pro_curve_util.py compute_pro +
// generic_util.py trapezoid) computes it: ground-truth regions are the 8-connected components of
// each mask; at every distinct score t (pixels >= t predicted anomalous) PRO = mean over all
// regions of |region ∩ prediction| / |region| and FPR = predicted normal pixels / all normal pixels
// (over all images). The curve from (0, 0) is integrated with trapezoids up to fpr_limit (the end
// point linearly interpolated) and divided by fpr_limit. Exact sweep over the sorted scores, like
// the reference; the only difference is that FPR is kept in double (the reference rounds it to float32).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "ras/config.hpp"
#include "ras/eval/connected_components.hpp"
#include "ras/eval/radix_sort.hpp"
#include "ras/tensor.hpp"

namespace ras::eval {

// The PRO curve at every distinct score, highest threshold first (the (0, 0) start and the
// (1, 1) end the reference adds are not included).
struct ProCurve {
  std::vector<double> threshold, fpr, pro;
};

// Pixels split into normal (sorted keys) and region pixels (sorted keys with their region), built
// once; aupro at several limits then costs one sweep each. S = float or double.
template <class S>
class ProRanking {
 public:
  using Key = sort_key_t<S>;

  // maps: (N, H, W) scores; masks: (N, H, W), non-zero = anomalous pixel.
  ProRanking(TensorView<const S, 3> maps, TensorView<const std::uint8_t, 3> masks) {
    static_assert(std::is_same_v<S, float> || std::is_same_v<S, double>,
                  "ProRanking: maps must be float or double");
    check_same_shape<3>(maps.shape(), masks.shape(), "aupro: masks (N, H, W) must match the maps");
    RAS_CHECK(maps.numel() > 0, "aupro: expected at least one pixel but got maps of shape ",
              shape_string(maps.shape()));
    const Index n = maps.dim(0), h = maps.dim(1), w = maps.dim(2), hw = h * w;
    RAS_CHECK(hw < (Index(1) << 31), "aupro: expected fewer than 2^31 pixels per map but got ", hw);
    for (Index i = 0; i < maps.numel(); ++i)
      RAS_CHECK(std::isfinite(maps.data()[i]), "aupro: expected finite scores but pixel ", i, " is ",
                maps.data()[i]);

    std::vector<std::int32_t> labels(static_cast<std::size_t>(hw));
    std::vector<Index> sizes, stack;
    std::size_t n_anomalous = 0;
    for (Index i = 0; i < maps.numel(); ++i) n_anomalous += masks.data()[i] != 0;
    neg_.reserve(static_cast<std::size_t>(maps.numel()) - n_anomalous);
    pos_.reserve(n_anomalous);
    for (Index img = 0; img < n; ++img) {
      const S* score = maps.data() + img * hw;
      const std::uint8_t* mask = masks.data() + img * hw;
      const std::size_t first_region = sizes.size();
      detail::label_components(mask, h, w, labels.data(), sizes, stack);
      for (Index p = 0; p < hw; ++p) {
        if (labels[p] == 0)
          neg_.push_back(sort_key(score[p]));
        else
          pos_.push_back({sort_key(score[p]), static_cast<std::uint32_t>(first_region + labels[p] - 1)});
      }
    }
    inv_area_.reserve(sizes.size());
    for (Index s : sizes) inv_area_.push_back(1.0 / static_cast<double>(s));
    RAS_CHECK(!inv_area_.empty(), "aupro: expected at least one anomalous region in the masks but got 0 (",
              n, " masks of ", h, "x", w, ")");
    RAS_CHECK(!neg_.empty(), "aupro: expected at least one normal pixel but all ", maps.numel(),
              " pixels are anomalous");
    std::vector<Key> tmp_keys;
    radix_sort_keys(neg_, tmp_keys);
    std::vector<RegionPixel> tmp_pixels;
    radix_sort(pos_, tmp_pixels, [](const RegionPixel& p) { return p.key; });
  }

  Index regions() const { return static_cast<Index>(inv_area_.size()); }
  Index normal_pixels() const { return static_cast<Index>(neg_.size()); }

  // f(threshold S, fpr double, pro double) at every distinct score, highest first.
  template <class F>
  void sweep(F&& f) const {
    std::size_t i = pos_.size(), j = neg_.size();
    Index fp = 0;
    double pro_sum = 0.0, pro_comp = 0.0;  // Neumaier-compensated sum of 1/area
    const double inv_regions = 1.0 / static_cast<double>(regions());
    const double n_ok = static_cast<double>(neg_.size());
    while (i > 0 || j > 0) {
      Key k = (i == 0) ? neg_[j - 1] : (j == 0) ? pos_[i - 1].key : std::max(pos_[i - 1].key, neg_[j - 1]);
      while (i > 0 && pos_[i - 1].key == k) {
        --i;
        double x = inv_area_[pos_[i].region];
        double t = pro_sum + x;
        pro_comp += (pro_sum >= x) ? (pro_sum - t) + x : (x - t) + pro_sum;
        pro_sum = t;
      }
      while (j > 0 && neg_[j - 1] == k) {
        --j;
        ++fp;
      }
      double pro = (pro_sum + pro_comp) * inv_regions;
      f(from_sort_key<S>(k), static_cast<double>(fp) / n_ok, pro < 1.0 ? pro : 1.0);
    }
  }

  ProCurve curve() const {
    ProCurve c;
    sweep([&](S t, double fpr, double pro) {
      c.threshold.push_back(static_cast<double>(t));
      c.fpr.push_back(fpr);
      c.pro.push_back(pro);
    });
    return c;
  }

  // Normalised area under the PRO curve for FPR in [0, fpr_limit], 0 < fpr_limit <= 1.
  double aupro(double fpr_limit = 0.3) const {
    RAS_CHECK(fpr_limit > 0.0 && fpr_limit <= 1.0, "aupro: expected 0 < fpr_limit <= 1 but got ", fpr_limit);
    double area = 0.0, px = 0.0, py = 0.0;
    bool done = false;
    sweep([&](S, double x, double y) {
      if (done) return;
      if (x <= fpr_limit) {
        area += 0.5 * (y + py) * (x - px);
        px = x;
        py = y;
      } else {  // first point past the limit: interpolate the curve at fpr_limit
        double y_lim = py + (y - py) * (fpr_limit - px) / (x - px);
        area += 0.5 * (y_lim + py) * (fpr_limit - px);
        done = true;
      }
    });
    return area / fpr_limit;
  }

 private:
  struct RegionPixel {
    Key key;
    std::uint32_t region;
  };
  std::vector<Key> neg_;          // ascending keys of normal pixels
  std::vector<RegionPixel> pos_;  // ascending keys of region pixels, with their global region index
  std::vector<double> inv_area_;  // 1 / area of each region
};

// maps: (N, H, W) float or double, masks: (N, H, W) uint8 (non-zero = anomalous).
template <class MapT, class MaskT>
inline double aupro(TensorView<MapT, 3> maps, TensorView<MaskT, 3> masks, double fpr_limit = 0.3) {
  static_assert(std::is_same_v<std::remove_const_t<MaskT>, std::uint8_t>, "aupro: masks must be uint8");
  using S = std::remove_const_t<MapT>;
  return ProRanking<S>(TensorView<const S, 3>(maps.data(), maps.shape()),
                       TensorView<const std::uint8_t, 3>(masks.data(), masks.shape()))
      .aupro(fpr_limit);
}
template <class S, class D>
inline double aupro(const Tensor<S, 3, D>& maps, const Tensor<std::uint8_t, 3, D>& masks,
                    double fpr_limit = 0.3) {
  return aupro(maps.view(), masks.view(), fpr_limit);
}

// The full PRO curve (see ProCurve). maps: (N, H, W), masks: (N, H, W).
template <class MapT, class MaskT>
inline ProCurve pro_curve(TensorView<MapT, 3> maps, TensorView<MaskT, 3> masks) {
  static_assert(std::is_same_v<std::remove_const_t<MaskT>, std::uint8_t>, "pro_curve: masks must be uint8");
  using S = std::remove_const_t<MapT>;
  return ProRanking<S>(TensorView<const S, 3>(maps.data(), maps.shape()),
                       TensorView<const std::uint8_t, 3>(masks.data(), masks.shape()))
      .curve();
}

}  // namespace ras::eval
