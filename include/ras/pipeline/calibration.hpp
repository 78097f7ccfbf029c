// ras/pipeline/calibration.hpp — the image threshold and normalisation range kept with a model, in
// model.safetensors metadata (mirrors anomalib's post-processor state: image threshold + min/max
// normalisation, stored with the checkpoint). The threshold is F1-max when the calibration images
// include anomalous ones, otherwise a quantile (default 0.995) of the normal images' scores; an image
// is anomalous when score > threshold. The normalised score is anomalib's min-max form:
// clip((score - threshold) / (max - min) + 0.5, 0, 1), so > 0.5 means anomalous. pixel_min /
// pixel_max (the 0.1 % and 99.9 % quantiles of the calibration maps' pixels) fix heatmap colour
// scales across runs. Metadata keys: calibration.image_threshold, .image_min, .image_max,
// .pixel_min, .pixel_max (numbers as "%.9g" text), .method, .source. Validated on load (finite,
// min < max) with errors naming the file and the key.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ras/config.hpp"
#include "ras/eval/curves.hpp"
#include "ras/eval/metrics.hpp"
#include "ras/io/safetensors.hpp"

namespace ras::pipeline {

struct Calibration {
  double image_threshold = 0;
  double image_min = 0, image_max = 1;  // range of the calibration images' scores
  double pixel_min = 0, pixel_max = 1;  // colour scale for heatmaps
  std::string method;                   // e.g. "f1-max (...)" or "quantile 0.995 of 20 normal image scores"
  std::string source;                   // what it was computed on (folders)

  // anomalib's normalisation: clip((s - T) / (max - min) + 0.5, 0, 1).
  double normalise(double score) const {
    const double v = (score - image_threshold) / (image_max - image_min) + 0.5;
    return std::min(1.0, std::max(0.0, v));
  }
  bool anomalous(double score) const { return score > image_threshold; }
};

inline constexpr const char* calibration_number_keys[] = {"calibration.image_threshold", "calibration.image_min",
                                                          "calibration.image_max", "calibration.pixel_min",
                                                          "calibration.pixel_max"};

inline std::map<std::string, std::string> to_metadata(const Calibration& c) {
  auto num = [](double v) {
    char b[40];
    std::snprintf(b, sizeof b, "%.9g", v);
    return std::string(b);
  };
  return {{"calibration.image_threshold", num(c.image_threshold)},
          {"calibration.image_min", num(c.image_min)},
          {"calibration.image_max", num(c.image_max)},
          {"calibration.pixel_min", num(c.pixel_min)},
          {"calibration.pixel_max", num(c.pixel_max)},
          {"calibration.method", c.method},
          {"calibration.source", c.source}};
}

// Checks the invariants; `where` prefixes the message (e.g. the file).
inline void validate(const Calibration& c, const std::string& where) {
  const std::pair<const char*, double> fields[] = {{"image_threshold", c.image_threshold}, {"image_min", c.image_min},
                                                   {"image_max", c.image_max}, {"pixel_min", c.pixel_min},
                                                   {"pixel_max", c.pixel_max}};
  for (const auto& [k, v] : fields)
    RAS_CHECK(std::isfinite(v), where, ": calibration.", k, " must be a finite number but is ", v);
  RAS_CHECK(c.image_min < c.image_max, where, ": expected calibration.image_min < calibration.image_max but got ",
            c.image_min, " and ", c.image_max);
  RAS_CHECK(c.pixel_min < c.pixel_max, where, ": expected calibration.pixel_min < calibration.pixel_max but got ",
            c.pixel_min, " and ", c.pixel_max);
}

// The calibration in a model's metadata; std::nullopt when it has none. Throws on a partial or
// invalid one. `where` names the file in errors.
inline std::optional<Calibration> calibration_from_metadata(const std::map<std::string, std::string>& meta,
                                                            const std::string& where) {
  std::size_t present = 0;
  for (const char* k : calibration_number_keys) present += meta.count(k);
  if (present == 0) return std::nullopt;
  auto get = [&](const char* key) {
    auto it = meta.find(key);
    RAS_CHECK(it != meta.end(), where, ": the calibration metadata is incomplete: '", key,
              "' is missing (run ras calibrate again)");
    const std::string& s = it->second;
    std::size_t used = 0;
    double v = NAN;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    RAS_CHECK(used == s.size() && !s.empty(), where, ": metadata '", key, "' must be a number but is '", s, "'");
    RAS_CHECK(std::isfinite(v), where, ": metadata '", key, "' must be a finite number but is '", s, "'");
    return v;
  };
  Calibration c;
  c.image_threshold = get("calibration.image_threshold");
  c.image_min = get("calibration.image_min");
  c.image_max = get("calibration.image_max");
  c.pixel_min = get("calibration.pixel_min");
  c.pixel_max = get("calibration.pixel_max");
  if (auto it = meta.find("calibration.method"); it != meta.end()) c.method = it->second;
  if (auto it = meta.find("calibration.source"); it != meta.end()) c.source = it->second;
  validate(c, where);
  return c;
}

// A run folder means RUN/model.safetensors.
inline std::filesystem::path model_file(std::filesystem::path model) {
  if (std::filesystem::is_directory(model)) model /= "model.safetensors";
  return model;
}

// The calibration stored in a model file; std::nullopt when it has none.
inline std::optional<Calibration> read_calibration(const std::filesystem::path& model) {
  io::SafetensorsFile st(model_file(model));
  return calibration_from_metadata(st.metadata(), st.label());
}

// Rewrites `model` with the calibration metadata set (tensors and other metadata unchanged),
// atomically (temporary file in the same folder + rename).
inline void write_calibration(const std::filesystem::path& model, const Calibration& c) {
  const auto file = model_file(model);
  validate(c, "write_calibration '" + file.string() + "'");
  io::SafetensorsFile st(file);
  io::SafetensorsWriter w;
  for (const auto& [k, v] : st.metadata()) w.set_metadata(k, v);
  for (const auto& [k, v] : to_metadata(c)) w.set_metadata(k, v);
  for (const auto& name : st.keys()) {
    const auto& inf = st.info(name);
    const unsigned char* p = st.raw(name);
    w.add_raw(name, inf.dtype, inf.shape, std::vector<unsigned char>(p, p + inf.nbytes()));
  }
  w.write(file);
}

// The F1-max operating point as a threshold for "anomalous when score > T": the midpoint between
// the lowest score that reaches F1-max (RankedScores::f1_max: anomalous at score >= it) and the next
// lower distinct score (that score minus 1e-6 of its magnitude when none is lower), so ">" labels
// the same images as ">=" at the F1-max point.
struct F1Threshold {
  double threshold, f1;
};
inline F1Threshold f1_threshold(const std::vector<double>& scores, const std::vector<std::uint8_t>& labels) {
  eval::RankedScores<double> r{std::span<const double>(scores), std::span<const std::uint8_t>(labels)};
  const auto f = r.f1_max();
  double below = -INFINITY;
  for (double s : scores)
    if (s < f.threshold) below = std::max(below, s);
  const double t = std::isfinite(below) ? 0.5 * (f.threshold + below)
                                        : f.threshold - 1e-6 * std::max(1.0, std::abs(f.threshold));
  return {t, f.f1};
}

// Calibrates from the image scores (labels: non-zero = anomalous) and the pixel values of the
// calibration maps. With anomalous images: the F1-max threshold; otherwise quantile q of the scores.
inline Calibration calibrate(const std::vector<double>& scores, const std::vector<std::uint8_t>& labels,
                             std::span<const float> pixels, double q = 0.995) {
  RAS_CHECK(scores.size() == labels.size(), "calibrate: expected one label per score (", scores.size(),
            ") but got ", labels.size());
  RAS_CHECK(scores.size() >= 2, "calibrate: expected at least 2 images but got ", scores.size());
  RAS_CHECK(q > 0.0 && q < 1.0, "calibrate: expected a quantile 0 < q < 1 but got ", q);
  RAS_CHECK(!pixels.empty(), "calibrate: expected anomaly-map pixels but got none");
  Calibration c;
  std::vector<double> normal;
  std::size_t anomalous = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (labels[i]) ++anomalous;
    else normal.push_back(scores[i]);
  }
  char b[128];
  if (anomalous > 0) {
    RAS_CHECK(!normal.empty(), "calibrate: all ", scores.size(), " calibration images are anomalous; add normal ones");
    const auto f = f1_threshold(scores, labels);
    c.image_threshold = f.threshold;
    std::snprintf(b, sizeof b, "f1-max (F1 %.4f on %zu normal + %zu anomalous images)", f.f1, normal.size(),
                  anomalous);
  } else {
    c.image_threshold = eval::quantile(normal, q);
    std::snprintf(b, sizeof b, "quantile %g of %zu normal image scores", q, normal.size());
  }
  c.method = b;
  c.image_min = *std::min_element(scores.begin(), scores.end());
  c.image_max = *std::max_element(scores.begin(), scores.end());
  RAS_CHECK(c.image_min < c.image_max, "calibrate: every calibration image has the same score ", c.image_min,
            "; a min-max normalisation needs different scores");
  std::vector<double> px(pixels.begin(), pixels.end());
  for (std::size_t i = 0; i < px.size(); ++i)
    RAS_CHECK(std::isfinite(px[i]), "calibrate: expected finite map values but pixel ", i, " is ", px[i]);
  std::sort(px.begin(), px.end());
  c.pixel_min = eval::quantile_sorted(px, 0.001);
  c.pixel_max = eval::quantile_sorted(px, 0.999);
  RAS_CHECK(c.pixel_min < c.pixel_max, "calibrate: the 0.1 % and 99.9 % pixel quantiles of the calibration maps "
            "are equal (", c.pixel_min, "); cannot fix a colour scale");
  return c;
}

}  // namespace ras::pipeline
