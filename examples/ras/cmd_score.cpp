// examples/ras/cmd_score.cpp — `ras score` (CSV path,score,normalised,label for images with a
// calibrated model, path,score[,label] otherwise; heatmap PNGs and raw .npy maps on request) and
// `ras eval` (per-class metrics on test sets, optionally the HTML report).
#include <cstdio>

#include "commands.hpp"
#include "common.hpp"
#include "cuda_pipeline.hpp"
#include "html_report.hpp"
#include "device.hpp"
#include "report.hpp"
#include "ras/pipeline/calibration.hpp"

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
  opts.push_back({"threshold", "anomalous when score > T (default: the threshold stored by ras calibrate)"});
  opts.push_back({"scale", "heatmap colour scale: call (0 .. the largest value of this call) or calibrated (the "
                           "pixel range stored by ras calibrate, comparable across calls)", false, false, "call"});
  opts.push_back({"maps", "write heatmap overlays (PNG) into this folder"});
  opts.push_back({"raw-maps", "write the float anomaly maps (.npy) into this folder"});
  opts.push_back({"original-size", "maps at each image's own size instead of 224x224", true});
  opts.push_back(threads_option());
  opts.push_back(device_option());
  Args a("score", "--model RUN [--threshold T] [--maps DIR] [--raw-maps DIR] IMAGE...", opts);
  a.parse(argc, argv, 2);
  if (a.help()) return std::printf("%s", a.usage().c_str()), 0;
  const DeviceChoice device = select_device(a);
  apply_threads(a);
  const auto images = expand_images(a.positional());
  const std::string scale = a.get("scale");
  RAS_CHECK(scale == "call" || scale == "calibrated", "ras score: --scale must be call or calibrated, got ", scale);
  auto det = load_detector(a);
  if (device == DeviceChoice::cuda) {
    detector_to_cuda(det, "score");
    det.extractor().features(images);  // batched on the GPU while host threads decode; kept for the loop below
  }
  const auto& cal = det.calibration();
  RAS_CHECK(scale == "call" || cal, "ras score: --scale calibrated but ", a.get("model"),
            " has no calibration; run ras calibrate first");
  const bool label = a.has("threshold") || cal.has_value();
  const double threshold = a.has("threshold") ? a.real("threshold", -1e30, 1e30) : cal ? cal->image_threshold : 0.0;
  if (!label) std::fprintf(stderr, "ras score: the model is not calibrated: no label column (run ras calibrate)\n");
  std::printf(cal ? "path,score,normalised,label\n" : label ? "path,score,label\n" : "path,score\n");
  std::vector<ras::pipeline::ScoredImage> results;
  double vmax = 0;
  for (const auto& img : images) {
    results.push_back(det.score(img, a.has("original-size")));
    const auto& r = results.back();
    if (cal) {
      auto c = *cal;
      c.image_threshold = threshold;  // --threshold moves the 0.5 point of the normalised score too
      std::printf("%s,%.6f,%.6f,%s\n", csv_field(img.string()).c_str(), r.score, c.normalise(r.score),
                  r.score > threshold ? "anomalous" : "normal");
    } else if (label) std::printf("%s,%.6f,%s\n", csv_field(img.string()).c_str(), r.score, r.score > threshold ? "anomalous" : "normal");
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
      auto rgb = scale == "calibrated" ? ras::eval::heatmap_overlay(img, m.view(), cal->pixel_min, cal->pixel_max)
                                       : ras::eval::heatmap_overlay(img, m.view(), 0.0, std::max(vmax, 1e-12));
      ras::io::save_png((std::filesystem::path(a.get("maps")) / (stem + ".png")).string(), ras::eval::rgb_to_image(rgb));
    }
  }
  if (a.has("maps"))
    std::fprintf(stderr, "heatmaps: %s (one colour scale: %.4f .. %.4f%s)\n", a.get("maps").c_str(),
                 scale == "calibrated" ? cal->pixel_min : 0.0, scale == "calibrated" ? cal->pixel_max : vmax,
                 scale == "calibrated" ? ", calibrated" : "");
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
  opts.push_back({"report", "write the HTML report (curves, histograms, heatmap gallery) to this file"});
  opts.push_back({"report-heatmaps", "heatmap overlays per class in the report", false, false, "8"});
  opts.push_back({"heatmap-scale", "report colour scale: class (0 .. the class's 99.9th percentile) or calibrated "
                                   "(the pixel range stored by ras calibrate)", false, false, "class"});
  opts.push_back(threads_option());
  opts.push_back(device_option());
  Args a("eval", "--model RUN --data DIR [--data DIR...] [--json FILE]", opts);
  a.parse(argc, argv, 2);
  if (a.help()) return std::printf("%s", a.usage().c_str()), 0;
  const DeviceChoice device = select_device(a);
  apply_threads(a);
  auto det = load_detector(a);
  if (device == DeviceChoice::cuda) detector_to_cuda(det, "eval");
  ras::data::DatasetOptions dopt;
  dopt.layout = ras::data::parse_layout(a.get("layout"));
  dopt.missing_mask = ras::data::MissingMask::Warn;
  std::vector<ras::data::ClassDataset> sets;
  for (const auto& d : a.all("data")) sets.push_back(ras::data::discover(d, dopt));
  RAS_CHECK(!sets.empty(), "ras eval: give at least one --data folder");
  const std::string scale = a.get("heatmap-scale");
  RAS_CHECK(scale == "class" || scale == "calibrated", "ras eval: --heatmap-scale must be class or calibrated, got ",
            scale);
  ras::report::CollectOptions ropt;
  ropt.gallery = static_cast<int>(a.integer("report-heatmaps", 0, 100000));
  ropt.calibration = det.calibration();
  ropt.calibrated_scale = scale == "calibrated";
  RAS_CHECK(!ropt.calibrated_scale || ropt.calibration, "ras eval: --heatmap-scale calibrated but ", a.get("model"),
            " has no calibration; run ras calibrate first");
  HtmlReport report(ropt);
  const std::string title = "RAS test metrics (" + a.get("model") + ")";
  const std::map<std::string, std::string> info = {{"model", a.get("model")}, {"backbone", det.backbone_name()}};
  evaluate_and_report(det, sets, title, a.get("json"), a.get("markdown"), a.get("heatmaps"),
                      static_cast<int>(a.integer("heatmaps-per-class", 0, 100000)), info,
                      a.has("report") ? report.hook() : ClassHook());
  if (a.has("report") && is_root()) report.write(a.get("report"), title, info, train_log_next_to(a.get("model")));
  return 0;
}

}  // namespace ras_cli
