// examples/ras/report.hpp — evaluation output shared by `ras train` and `ras eval`: the metrics
// table on stdout, metrics.json / metrics.md, and heatmap overlays (viridis on the 224x224 image,
// ground-truth contour in red) for the anomalous test images of every class.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ras/eval/heatmap.hpp"
#include "ras/io/image.hpp"
#include "mpi_world.hpp"
#include "ras/pipeline/evaluate.hpp"
#include "ras/pipeline/sharded.hpp"

namespace ras_cli {

// Writes `text` to `path` atomically (temporary file + rename, every write checked): a failed write
// (disk full, file-size limit, no permission) is a ras::Error naming the file and leaves an
// earlier file at `path` untouched.
inline void write_text(const std::filesystem::path& path, const std::string& text) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  ras::io::write_file_atomic(path, [&](std::ostream& out) { out.write(text.data(), static_cast<std::streamsize>(text.size())); });
}

// Overlays for up to `per_class` test images (anomalous first), with one colour scale per class
// (0 .. the class's 99.9th percentile pixel). Returns the number written.
inline int write_heatmaps(const std::filesystem::path& dir, const ras::data::ClassDataset& ds,
                          const ras::pipeline::ClassScores& cs, int per_class) {
  if (per_class <= 0) return 0;
  const ras::Index N = cs.maps.dim(0), S = cs.maps.dim(1);
  std::vector<float> all(cs.maps.data(), cs.maps.data() + cs.maps.numel());
  const std::size_t k = static_cast<std::size_t>(0.999 * double(all.size() - 1));
  std::nth_element(all.begin(), all.begin() + static_cast<long>(k), all.end());
  const double vmax = std::max(1e-12, double(all[k]));
  std::vector<ras::Index> order;
  for (ras::Index i = 0; i < N; ++i)
    if (ds.test[static_cast<std::size_t>(i)].is_anomalous) order.push_back(i);
  for (ras::Index i = 0; i < N; ++i)
    if (!ds.test[static_cast<std::size_t>(i)].is_anomalous) order.push_back(i);
  const auto out_dir = dir / ds.class_name;
  std::filesystem::create_directories(out_dir);
  int written = 0;
  for (ras::Index i : order) {
    if (written >= per_class) break;
    const auto& s = ds.test[static_cast<std::size_t>(i)];
    auto img = ras::io::resize_bilinear(ras::io::load_image(s.path.string()), S, S);
    ras::TensorView<const float, 2> map(cs.maps.data() + i * S * S, {S, S});
    ras::TensorView<const std::uint8_t, 2> mask(cs.masks.data() + i * S * S, {S, S});
    auto rgb = ras::eval::heatmap_overlay(img, map, 0.0, vmax, s.mask_path.empty() ? ras::TensorView<const std::uint8_t, 2>() : mask);
    char name[64];
    std::snprintf(name, sizeof name, "%s_%s", s.defect_type.c_str(), s.path.stem().string().c_str());
    ras::io::save_png((out_dir / (std::string(name) + ".png")).string(), ras::eval::rgb_to_image(rgb));
    ++written;
  }
  return written;
}

struct EvalOutput {
  std::vector<ras::pipeline::ClassMetrics> metrics;
  std::string table;
};

// Called with each class's scores and metrics (e.g. to collect the HTML report's curves).
using ClassHook = std::function<void(const ras::data::ClassDataset&, const ras::pipeline::ClassScores&,
                                     const ras::pipeline::ClassMetrics&)>;

// Evaluates every class, prints the table, writes json/md (when paths are given) and heatmaps.
// Over several ranks (mpi_world.hpp) the test images are sharded and rank 0 alone gets the scores,
// computes the metrics and writes; the other ranks get an empty EvalOutput.
inline EvalOutput evaluate_and_report(ras::pipeline::Detector& det, const std::vector<ras::data::ClassDataset>& sets,
                                      const std::string& title, const std::filesystem::path& json,
                                      const std::filesystem::path& markdown, const std::filesystem::path& heatmap_dir,
                                      int heatmaps_per_class, const std::map<std::string, std::string>& info,
                                      const ClassHook& on_class = {}) {
  EvalOutput out;
  int heatmaps = 0;
  for (const auto& ds : sets) {
    auto cs = ras::pipeline::sharded_score_class(det, ds, world());
    if (!is_root()) continue;
    out.metrics.push_back(ras::pipeline::class_metrics(ds.class_name, cs));
    if (on_class) on_class(ds, cs, out.metrics.back());
    if (!heatmap_dir.empty()) heatmaps += write_heatmaps(heatmap_dir, ds, cs, heatmaps_per_class);
  }
  if (!is_root()) return out;
  out.table = ras::pipeline::metrics_table(out.metrics);
  std::printf("\n%s\n%s", title.c_str(), out.table.c_str());
  if (!json.empty()) write_text(json, ras::pipeline::metrics_json(out.metrics, info));
  if (!markdown.empty()) {
    std::string md = "# " + title + "\n\n";
    for (const auto& [k, v] : info) md += "- " + k + ": " + v + "\n";
    write_text(markdown, md + "\n" + out.table);
  }
  if (!json.empty()) std::printf("metrics: %s\n", json.string().c_str());
  if (heatmaps > 0) std::printf("heatmaps: %d overlays in %s\n", heatmaps, heatmap_dir.string().c_str());
  std::fflush(stdout);
  return out;
}

}  // namespace ras_cli
