// examples/ras/cmd_score.cpp — `ras score` (CSV path,score[,label] for images; heatmap PNGs and raw
// .npy maps on request) and `ras eval` (per-class metrics on test sets).
#include <cstdio>

#include "commands.hpp"
#include "common.hpp"
#include "device.hpp"
#include "report.hpp"

namespace ras_cli {

namespace {
std::vector<OptionSpec> model_options() {
  return {{"model", "run folder or model .safetensors (also a converted official checkpoint)"},
          {"backbone", "backbone name (needed for a checkpoint without ras metadata)"},
          {"weights", "backbone weights (default: the file recorded in the model)"},
          {"cache", "feature cache folder (default: none)"}};
}
ras::pipeline::Detector load_detector(const Args& a) {
  return ras::pipeline::Detector::load({a.required("model"), a.get("backbone"), a.get("weights"), a.get("cache")});
}
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
}  // namespace

int cmd_score(int argc, char** argv) {
  auto opts = model_options();
  opts.push_back({"threshold", "adds a label column: anomalous when score > T"});
  opts.push_back({"maps", "write heatmap overlays (PNG) into this folder"});
  opts.push_back({"raw-maps", "write the float anomaly maps (.npy) into this folder"});
  opts.push_back({"original-size", "maps at each image's own size instead of 224x224", true});
  opts.push_back(threads_option());
  opts.push_back(device_option());
  Args a("score", "--model RUN [--threshold T] [--maps DIR] [--raw-maps DIR] IMAGE...", opts);
  a.parse(argc, argv, 2);
  if (a.help()) return std::printf("%s", a.usage().c_str()), 0;
  if (select_device(a) == DeviceChoice::cuda) cuda_not_supported_yet("score");
  apply_threads(a);
  const auto images = expand_images(a.positional());
  auto det = load_detector(a);
  const bool label = a.has("threshold");
  const double threshold = label ? a.real("threshold") : 0.0;
  std::printf(label ? "path,score,label\n" : "path,score\n");
  std::vector<ras::pipeline::ScoredImage> results;
  double vmax = 0;
  for (const auto& img : images) {
    results.push_back(det.score(img, a.has("original-size")));
    const auto& r = results.back();
    if (label) std::printf("%s,%.6f,%s\n", csv_field(img.string()).c_str(), r.score, r.score > threshold ? "anomalous" : "normal");
    else std::printf("%s,%.6f\n", csv_field(img.string()).c_str(), r.score);
    std::fflush(stdout);
    vmax = std::max(vmax, double(*std::max_element(r.map.data(), r.map.data() + r.map.numel())));
  }
  for (std::size_t i = 0; i < images.size(); ++i) {
    const auto stem = images[i].stem().string() + "_" + std::to_string(i);
    if (a.has("raw-maps")) {
      std::filesystem::create_directories(a.get("raw-maps"));
      ras::io::save_npy(std::filesystem::path(a.get("raw-maps")) / (stem + ".npy"), results[i].map);
    }
    if (a.has("maps")) {
      std::filesystem::create_directories(a.get("maps"));
      const auto& m = results[i].map;
      auto img = ras::io::resize_bilinear(ras::io::load_image(images[i].string()), m.dim(0), m.dim(1));
      auto rgb = ras::eval::heatmap_overlay(img, m.view(), 0.0, std::max(vmax, 1e-12));
      ras::io::save_png((std::filesystem::path(a.get("maps")) / (stem + ".png")).string(), ras::eval::rgb_to_image(rgb));
    }
  }
  if (a.has("maps")) std::fprintf(stderr, "heatmaps: %s (one colour scale: 0 .. %.4f)\n", a.get("maps").c_str(), vmax);
  if (a.has("raw-maps")) std::fprintf(stderr, "raw maps: %s\n", a.get("raw-maps").c_str());
  return 0;
}

int cmd_eval(int argc, char** argv) {
  auto opts = model_options();
  opts.push_back({"data", "a class folder with test/ (and ground_truth/)", false, true});
  opts.push_back({"layout", "dataset layout: auto, mvtec, mpdd, btad, visa, folder", false, false, "auto"});
  opts.push_back({"json", "write the metrics as JSON"});
  opts.push_back({"markdown", "write the metrics as a Markdown table"});
  opts.push_back({"heatmaps", "write heatmap overlays into this folder"});
  opts.push_back({"heatmaps-per-class", "overlays per class", false, false, "8"});
  opts.push_back(threads_option());
  opts.push_back(device_option());
  Args a("eval", "--model RUN --data DIR [--data DIR...] [--json FILE]", opts);
  a.parse(argc, argv, 2);
  if (a.help()) return std::printf("%s", a.usage().c_str()), 0;
  if (select_device(a) == DeviceChoice::cuda) cuda_not_supported_yet("eval");
  apply_threads(a);
  auto det = load_detector(a);
  ras::data::DatasetOptions dopt;
  dopt.layout = ras::data::parse_layout(a.get("layout"));
  dopt.missing_mask = ras::data::MissingMask::Warn;
  std::vector<ras::data::ClassDataset> sets;
  for (const auto& d : a.all("data")) sets.push_back(ras::data::discover(d, dopt));
  RAS_CHECK(!sets.empty(), "ras eval: give at least one --data folder");
  evaluate_and_report(det, sets, "RAS test metrics (" + a.get("model") + ")", a.get("json"), a.get("markdown"),
                      a.get("heatmaps"), static_cast<int>(a.integer("heatmaps-per-class")),
                      {{"model", a.get("model")}, {"backbone", det.backbone_name()}});
  return 0;
}

}  // namespace ras_cli
