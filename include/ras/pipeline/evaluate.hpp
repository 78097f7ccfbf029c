// ras/pipeline/evaluate.hpp — per-class evaluation of a detector on test images, as the reference
// does it (utils/eval_helper.py) plus the metrics it lacks: image AUROC (max-pooled score), pixel
// AUROC over every 224x224 pixel of the class, and image/pixel AP, F1-max and AUPRO (FPR <= 0.3).
// Image labels come from the mask (any non-zero pixel), normal images have empty masks. AUROC is
// reported as computed (no flip of values below 0.5, which the reference applies).
#pragma once

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ras/data/dataset.hpp"
#include "ras/eval/metrics.hpp"
#include "ras/io/json.hpp"
#include "ras/pipeline/detector.hpp"

namespace ras::pipeline {

struct ClassMetrics {
  std::string name;
  Index normal = 0, anomalous = 0;
  double image_auroc = 0, pixel_auroc = 0, aupro = 0;
  double image_ap = 0, pixel_ap = 0, image_f1_max = 0, pixel_f1_max = 0;
};

struct ClassScores {
  std::vector<std::filesystem::path> paths;
  std::vector<double> scores;
  Tensor<float, 3> maps;             // (N, 224, 224)
  Tensor<std::uint8_t, 3> masks;     // (N, 224, 224), 1 = anomalous pixel
};

// The ground-truth masks of a class's test images: (N, size, size), 1 = anomalous pixel.
inline Tensor<std::uint8_t, 3> class_masks(const data::ClassDataset& ds, Index size) {
  const Index N = static_cast<Index>(ds.test.size());
  Tensor<std::uint8_t, 3> masks({N, size, size});
  for (Index i = 0; i < N; ++i) {
    const auto& s = ds.test[static_cast<std::size_t>(i)];
    if (s.mask_path.empty()) {
      if (s.is_anomalous)  // anomalous without a mask: label from the folder, every pixel unknown -> whole image
        std::fill(masks.data() + i * size * size, masks.data() + (i + 1) * size * size, std::uint8_t(1));
      continue;
    }
    auto m = io::load_mask<float>(s.mask_path.string(), size);
    for (Index p = 0; p < size * size; ++p) masks.data()[i * size * size + p] = m.data()[p] > 0 ? 1 : 0;
  }
  return masks;
}

// Scores every test image of one class (features through the detector's cache).
inline ClassScores score_class(Detector& det, const data::ClassDataset& ds, bool progress = true) {
  RAS_CHECK(!ds.test.empty(), "evaluate: class ", ds.class_name, " has no test images in ", ds.root.string());
  ClassScores out;
  for (const auto& s : ds.test) out.paths.push_back(s.path);
  auto feats = det.extractor().features(out.paths, progress ? "features " + ds.class_name + " test" : "");
  const Index size = det.image_size(), N = feats.dim(0);
  auto ms = det.maps_and_scores(feats);
  out.scores = std::move(ms.scores);
  out.maps = std::move(ms.maps).reshape<3>({N, size, size});
  out.masks = class_masks(ds, size);
  return out;
}

inline ClassMetrics class_metrics(const std::string& name, const ClassScores& cs) {
  ClassMetrics m;
  m.name = name;
  const Index N = cs.maps.dim(0), P = cs.maps.dim(1) * cs.maps.dim(2);
  std::vector<std::uint8_t> labels(static_cast<std::size_t>(N));
  for (Index i = 0; i < N; ++i) {
    labels[static_cast<std::size_t>(i)] =
        std::any_of(cs.masks.data() + i * P, cs.masks.data() + (i + 1) * P, [](std::uint8_t v) { return v != 0; });
    (labels[static_cast<std::size_t>(i)] ? m.anomalous : m.normal)++;
  }
  RAS_CHECK(m.normal > 0 && m.anomalous > 0, "evaluate: class ", name, " needs normal and anomalous test images "
            "but has ", m.normal, " normal and ", m.anomalous, " anomalous");
  auto img = eval::classification_metrics(std::span<const double>(cs.scores), std::span<const std::uint8_t>(labels));
  m.image_auroc = img.roc_auc;
  m.image_ap = img.average_precision;
  m.image_f1_max = img.f1_max;
  auto pix = eval::classification_metrics(std::span<const float>(cs.maps.data(), static_cast<std::size_t>(N * P)),
                                          std::span<const std::uint8_t>(cs.masks.data(), static_cast<std::size_t>(N * P)));
  m.pixel_auroc = pix.roc_auc;
  m.pixel_ap = pix.average_precision;
  m.pixel_f1_max = pix.f1_max;
  m.aupro = eval::aupro(cs.maps, cs.masks, 0.3);
  return m;
}

inline ClassMetrics mean_metrics(const std::vector<ClassMetrics>& all) {
  ClassMetrics m;
  m.name = "mean";
  const double n = static_cast<double>(all.size());
  for (const auto& c : all) {
    m.normal += c.normal, m.anomalous += c.anomalous;
    m.image_auroc += c.image_auroc / n, m.pixel_auroc += c.pixel_auroc / n, m.aupro += c.aupro / n;
    m.image_ap += c.image_ap / n, m.pixel_ap += c.pixel_ap / n;
    m.image_f1_max += c.image_f1_max / n, m.pixel_f1_max += c.pixel_f1_max / n;
  }
  return m;
}

// Fixed-width table (also valid Markdown).
inline std::string metrics_table(const std::vector<ClassMetrics>& all) {
  std::ostringstream o;
  char line[256];
  std::snprintf(line, sizeof line, "| %-16s | %6s | %6s | %7s | %7s | %6s | %6s | %6s | %6s | %6s |\n", "class",
                "normal", "anom.", "I-AUROC", "P-AUROC", "AUPRO", "I-AP", "P-AP", "I-F1", "P-F1");
  o << line << "|------------------|--------|--------|---------|---------|--------|--------|--------|--------|--------|\n";
  auto row = [&](const ClassMetrics& c) {
    std::snprintf(line, sizeof line,
                  "| %-16s | %6lld | %6lld | %7.4f | %7.4f | %6.4f | %6.4f | %6.4f | %6.4f | %6.4f |\n",
                  c.name.c_str(), static_cast<long long>(c.normal), static_cast<long long>(c.anomalous),
                  c.image_auroc, c.pixel_auroc, c.aupro, c.image_ap, c.pixel_ap, c.image_f1_max, c.pixel_f1_max);
    o << line;
  };
  for (const auto& c : all) row(c);
  if (all.size() > 1) row(mean_metrics(all));
  return o.str();
}

// {"classes": {NAME: {...}}, "mean": {...}, plus the given top-level string fields}
inline std::string metrics_json(const std::vector<ClassMetrics>& all,
                                const std::map<std::string, std::string>& info = {}) {
  auto obj = [](const ClassMetrics& c) {
    std::ostringstream o;
    o.precision(10);
    o << "{\"image_auroc\": " << c.image_auroc << ", \"pixel_auroc\": " << c.pixel_auroc << ", \"aupro\": " << c.aupro
      << ", \"image_ap\": " << c.image_ap << ", \"pixel_ap\": " << c.pixel_ap << ", \"image_f1_max\": "
      << c.image_f1_max << ", \"pixel_f1_max\": " << c.pixel_f1_max << ", \"normal_images\": " << c.normal
      << ", \"anomalous_images\": " << c.anomalous << "}";
    return o.str();
  };
  std::ostringstream o;
  o << "{\n";
  for (const auto& [k, v] : info) o << "  " << io::json::quote(k) << ": " << io::json::quote(v) << ",\n";
  o << "  \"classes\": {\n";
  for (std::size_t i = 0; i < all.size(); ++i)
    o << "    " << io::json::quote(all[i].name) << ": " << obj(all[i]) << (i + 1 < all.size() ? "," : "") << "\n";
  o << "  },\n  \"mean\": " << obj(mean_metrics(all)) << "\n}\n";
  return o.str();
}

}  // namespace ras::pipeline
