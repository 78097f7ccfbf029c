// ras/report/collect.hpp — fills the HTML report's data (ras/report/html.hpp) from one class's
// evaluation (pipeline::ClassScores: image scores, 224x224 maps and masks): exact ROC/PR/PRO curves
// thinned to at most max_curve_points vertices (eval/curves.hpp), the image-score distributions, the
// threshold (the model's calibrated one, else F1-max on these test images) and a gallery of
// overlays: normal images with the highest scores (false positives first) and anomalous images with
// the lowest (false negatives first), as PNG bytes. Needs ras::image (libstb) for PNG encoding.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "ras/data/dataset.hpp"
#include "ras/eval/curves.hpp"
#include "ras/eval/heatmap.hpp"
#include "ras/io/image.hpp"
#include "ras/pipeline/calibration.hpp"
#include "ras/pipeline/evaluate.hpp"
#include "ras/report/html.hpp"

namespace ras::report {

// An 8-bit image as PNG bytes in memory (stb_image_write).
inline std::vector<std::uint8_t> encode_png(const io::Image& img) {
  RAS_CHECK(img.height >= 1 && img.width >= 1 && img.channels >= 1 && img.channels <= 4 &&
                static_cast<Index>(img.pixels.size()) == img.numel(),
            "encode_png: expected a non-empty image with 1..4 channels but got ", img.height, "x", img.width, "x",
            img.channels, " holding ", img.pixels.size(), " values");
  struct Sink {
    std::vector<std::uint8_t> bytes;
    bool failed = false;
  } sink;
  auto append = [](void* ctx, void* data, int size) {  // called from C: must not throw
    auto* s = static_cast<Sink*>(ctx);
    try {
      s->bytes.insert(s->bytes.end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
    } catch (...) {
      s->failed = true;
    }
  };
  const int ok = stbi_write_png_to_func(append, &sink, static_cast<int>(img.width), static_cast<int>(img.height),
                                        img.channels, img.pixels.data(), static_cast<int>(img.width * img.channels));
  RAS_CHECK(ok != 0 && !sink.failed && !sink.bytes.empty(), "encode_png: stb_image_write failed (out of memory?)");
  return sink.bytes;
}

inline MetricRow metric_row(const pipeline::ClassMetrics& m) {
  return {m.name, static_cast<long long>(m.normal), static_cast<long long>(m.anomalous), m.image_auroc,
          m.pixel_auroc, m.aupro, m.image_ap, m.pixel_ap, m.image_f1_max, m.pixel_f1_max};
}

struct CollectOptions {
  int gallery = 8;                                     // overlays per class (half false positives, half negatives)
  std::size_t max_curve_points = 300;                  // vertices per drawn curve
  std::optional<pipeline::Calibration> calibration;    // the model's stored threshold / scale
  bool calibrated_scale = false;                       // colour scale = calibration pixel range
};

inline ClassReport collect_class(const data::ClassDataset& ds, const pipeline::ClassScores& cs,
                                 const pipeline::ClassMetrics& m, const CollectOptions& opt = {}) {
  const Index N = cs.maps.dim(0), S = cs.maps.dim(1), P = S * cs.maps.dim(2);
  RAS_CHECK(static_cast<std::size_t>(N) == ds.test.size() && cs.scores.size() == ds.test.size(),
            "collect_class: expected scores for the ", ds.test.size(), " test images of ", ds.class_name, " but got ",
            cs.scores.size(), " scores and ", N, " maps");
  RAS_CHECK(!opt.calibrated_scale || opt.calibration, "collect_class: a calibrated colour scale needs a calibration");
  ClassReport r;
  r.metrics = metric_row(m);
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(N));
  for (Index i = 0; i < N; ++i) {
    labels[i] = std::any_of(cs.masks.data() + i * P, cs.masks.data() + (i + 1) * P, [](std::uint8_t v) { return v; });
    (labels[i] ? r.anomalous_scores : r.normal_scores).push_back(cs.scores[i]);
  }
  {
    eval::RankedScores<double> img(std::span<const double>(cs.scores), std::span<const std::uint8_t>(labels));
    r.image_roc = eval::thin_to(eval::roc_curve(img), opt.max_curve_points);
    r.image_pr = eval::thin_to(eval::pr_curve(img), opt.max_curve_points);
  }
  {
    const auto n = static_cast<std::size_t>(N * P);
    eval::RankedScores<float> pix(std::span<const float>(cs.maps.data(), n), std::span<const std::uint8_t>(cs.masks.data(), n));
    auto roc = eval::roc_curve(pix);
    r.pixel_curve_points = roc.size() - 1;
    r.pixel_roc = eval::thin_to(roc, opt.max_curve_points);
    r.pixel_pr = eval::thin_to(eval::pr_curve(pix), opt.max_curve_points);
  }
  r.pro = eval::thin_to(eval::pro_curve(eval::ProRanking<float>(cs.maps.view(), cs.masks.view()), 0.3),
                        opt.max_curve_points);

  if (opt.calibration) {
    r.threshold = opt.calibration->image_threshold;
    r.threshold_source = "stored with the model, " + opt.calibration->method +
                         (opt.calibration->source.empty() ? "" : " on " + opt.calibration->source);
  } else {
    const auto f = pipeline::f1_threshold(cs.scores, labels);
    r.threshold = f.threshold;
    r.threshold_source = "F1-max on these test images (F1 " + detail::fmt(f.f1) +
                         "; optimistic: run ras calibrate on validation images to store one with the model)";
  }

  // colour scale: the calibrated range, else 0 .. the class's 99.9th percentile pixel (as ras eval's heatmaps)
  if (opt.calibrated_scale) {
    r.map_min = opt.calibration->pixel_min, r.map_max = opt.calibration->pixel_max;
    r.map_scale_source = "calibrated range stored with the model";
  } else {
    std::vector<float> all(cs.maps.data(), cs.maps.data() + cs.maps.numel());
    const std::size_t k = static_cast<std::size_t>(0.999 * double(all.size() - 1));
    std::nth_element(all.begin(), all.begin() + static_cast<long>(k), all.end());
    r.map_min = 0.0, r.map_max = std::max(1e-12, double(all[k]));
    r.map_scale_source = "0 .. this class's 99.9th percentile pixel";
  }

  // gallery: worst normal (highest score) and worst anomalous (lowest score) alternately
  std::vector<Index> normal, anomalous;
  for (Index i = 0; i < N; ++i) (labels[i] ? anomalous : normal).push_back(i);
  std::stable_sort(normal.begin(), normal.end(), [&](Index a, Index b) { return cs.scores[a] > cs.scores[b]; });
  std::stable_sort(anomalous.begin(), anomalous.end(), [&](Index a, Index b) { return cs.scores[a] < cs.scores[b]; });
  std::vector<Index> order;
  for (std::size_t k = 0; k < std::max(normal.size(), anomalous.size()); ++k) {
    if (k < normal.size()) order.push_back(normal[k]);
    if (k < anomalous.size()) order.push_back(anomalous[k]);
  }
  order.resize(std::min(order.size(), static_cast<std::size_t>(std::max(opt.gallery, 0))));
  // false positives / negatives first, then the rest in the same (worst-first) order
  std::stable_partition(order.begin(), order.end(), [&](Index i) {
    return labels[i] ? cs.scores[i] <= r.threshold : cs.scores[i] > r.threshold;
  });
  for (Index i : order) {
    const auto& s = ds.test[static_cast<std::size_t>(i)];
    auto img = io::resize_bilinear(io::load_image(s.path.string()), S, S);
    TensorView<const float, 2> map(cs.maps.data() + i * P, {S, S});
    TensorView<const std::uint8_t, 2> mask(cs.masks.data() + i * P, {S, S});
    auto rgb = eval::heatmap_overlay(img, map, r.map_min, r.map_max,
                                     labels[i] ? mask : TensorView<const std::uint8_t, 2>());
    GalleryItem g;
    const bool wrong = labels[i] ? cs.scores[i] <= r.threshold : cs.scores[i] > r.threshold;
    g.kind = labels[i] ? (wrong ? "false negative" : "anomalous") : (wrong ? "false positive" : "normal");
    g.name = s.defect_type + "/" + s.path.filename().string();
    g.score = cs.scores[i];
    g.png = encode_png(eval::rgb_to_image(rgb));
    r.gallery.push_back(std::move(g));
  }
  return r;
}

}  // namespace ras::report
