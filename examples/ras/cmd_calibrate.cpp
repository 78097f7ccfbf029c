// examples/ras/cmd_calibrate.cpp — `ras calibrate`: scores validation images with a trained model
// and stores an image threshold, the score range for normalisation and a heatmap colour range in
// the model's metadata (ras/pipeline/calibration.hpp; the file is rewritten atomically). With
// anomalous validation images (--data class folders with test/ and masks, any supported layout) the
// threshold is F1-max; with normal images only (--normal folders) it is a quantile of their scores.
#include <cstdio>

#include "commands.hpp"
#include "common.hpp"
#include "report.hpp"
#include "ras/pipeline/calibration.hpp"

namespace ras_cli {

int cmd_calibrate(int argc, char** argv) {
  Args a("calibrate", "--model RUN (--data VALDIR... | --normal DIR...) [--quantile 0.995]",
         {{"model", "run folder or model .safetensors to calibrate (rewritten with the calibration metadata)"},
          {"data", "a validation class folder (its test/ split: normal and anomalous images, masks)", false, true},
          {"layout", "dataset layout of --data: auto, mvtec, mpdd, btad, visa, folder", false, false, "auto"},
          {"normal", "a folder (or file) of normal validation images only", false, true},
          {"quantile", "with normal images only: threshold = this quantile of their scores", false, false, "0.995"},
          {"cache", "feature cache folder (default: none)"},
          threads_option()});
  a.parse(argc, argv, 2);
  if (a.help()) return std::printf("%s", a.usage().c_str()), 0;
  RAS_CHECK(a.positional().empty(), "ras calibrate: unexpected argument '",
            a.positional().empty() ? "" : a.positional()[0], "'");
  apply_threads(a);
  RAS_CHECK(a.has("data") || a.has("normal"), "ras calibrate: give --data VALDIR or --normal DIR");
  // a damaged earlier calibration is replaced, not refused
  auto det = ras::pipeline::Detector::load({a.required("model"), "", "", a.get("cache"), true});

  std::vector<double> scores;
  std::vector<std::uint8_t> labels;
  std::vector<float> pixels;
  std::string source;
  auto add_maps = [&](const ras::Tensor<float, 4>& maps) {
    pixels.insert(pixels.end(), maps.data(), maps.data() + maps.numel());
    for (double s : ras::model::image_scores(maps)) scores.push_back(s);
  };
  if (a.has("data")) {
    ras::data::DatasetOptions dopt;
    dopt.layout = ras::data::parse_layout(a.get("layout"));
    dopt.missing_mask = ras::data::MissingMask::Warn;
    for (const auto& d : a.all("data")) {
      auto ds = ras::data::discover(d, dopt);
      std::vector<std::filesystem::path> paths;
      for (const auto& s : ds.test) {
        paths.push_back(s.path);
        labels.push_back(s.is_anomalous ? 1 : 0);
      }
      RAS_CHECK(!paths.empty(), "ras calibrate: ", d, " has no images in its test split");
      add_maps(det.maps_from_features(det.extractor().features(paths, "features " + ds.class_name)));
      source += (source.empty() ? "" : ", ") + d;
    }
  }
  if (a.has("normal")) {
    const auto images = expand_images(a.all("normal"));
    add_maps(det.maps_from_features(det.extractor().features(images, "features normal")));
    labels.insert(labels.end(), images.size(), 0);
    for (const auto& d : a.all("normal")) source += (source.empty() ? "" : ", ") + d;
  }
  auto cal = ras::pipeline::calibrate(scores, labels, pixels, a.real("quantile"));
  cal.source = source;
  const auto file = ras::pipeline::model_file(a.required("model"));
  ras::pipeline::write_calibration(file, cal);
  std::size_t n_anom = 0;
  for (auto l : labels) n_anom += l;
  std::printf("calibrated %s on %zu images (%zu anomalous) from %s\n", file.string().c_str(), scores.size(), n_anom,
              source.c_str());
  std::printf("  image threshold %.6f (%s)\n  image score range %.6f .. %.6f (normalised = clip((s - T) / (max - min) "
              "+ 0.5, 0, 1))\n  heatmap pixel range %.6f .. %.6f (0.1 %% and 99.9 %% quantiles)\n",
              cal.image_threshold, cal.method.c_str(), cal.image_min, cal.image_max, cal.pixel_min, cal.pixel_max);
  return 0;
}

}  // namespace ras_cli
