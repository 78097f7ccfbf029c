// ras/pipeline/detector.hpp — a trained RAS model together with its frozen backbone: the object a
// C++ user holds to score images. Saved as one safetensors file (a run's model.safetensors):
// "reconstruction.*" parameters plus metadata naming the configuration, the backbone, the path and
// content hash of its weights and the classes trained on. Also loads an official RAS checkpoint
// converted by tools/convert_checkpoint.py ("reconstruction.*" and "backbone.*" keys, no metadata).
// Loading validates the calibration metadata of `ras calibrate` (pipeline/calibration.hpp) when present.
// Computes on the Cpu, or on another device after set_compute (pipeline/device_compute.hpp:
// use_device<Cuda>(detector)); inputs and outputs stay host tensors either way.
#pragma once

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ras/autograd/tape.hpp"
#include "ras/io/metadata.hpp"
#include "ras/io/state_dict.hpp"
#include "ras/model/inference.hpp"
#include "ras/model/scoring.hpp"
#include "ras/model/ras_model.hpp"
#include "ras/pipeline/calibration.hpp"
#include "ras/pipeline/compute.hpp"
#include "ras/pipeline/features.hpp"

namespace ras::pipeline {

struct DetectorSource {
  std::filesystem::path model;         // model.safetensors of a run, a run folder, or a converted checkpoint
  std::string backbone;                // overrides / supplies the backbone name (needed for official checkpoints)
  std::filesystem::path weights;       // overrides / supplies the backbone weights file
  std::filesystem::path feature_cache; // optional feature cache folder
  bool ignore_calibration = false;     // skip (and do not validate) stored calibration metadata
};

struct ScoredImage {
  double score = 0;         // max of the 16x16 box-filtered 224x224 map
  Tensor<float, 2> map;     // (224, 224) anomaly map (or the original size when asked)
};

class Detector {
 public:
  Detector(nn::RasReconstruction<float> model, BackbonePtr backbone, std::string backbone_name,
           std::filesystem::path weights, std::filesystem::path cache = {})
      : model_(std::move(model)), backbone_(std::move(backbone)), backbone_name_(std::move(backbone_name)),
        weights_(std::move(weights)),
        extractor_(std::make_unique<FeatureExtractor>(*backbone_, backbone_name_ + "-" + hex64(hash_file(weights_)),
                                                      std::move(cache))) {
    model_.set_training(false);
    RAS_CHECK(model_.config().channels == backbone_->neck_channels(), "Detector: the model expects ",
              model_.config().channels, " feature channels but backbone ", backbone_name_, " gives ",
              backbone_->neck_channels());
  }

  static Detector load(const DetectorSource& src) {
    std::filesystem::path file = src.model;
    if (std::filesystem::is_directory(file)) file /= "model.safetensors";
    RAS_CHECK(std::filesystem::exists(file), "model not found: ", file.string());
    io::SafetensorsFile st(file);
    const auto& meta = st.metadata();
    const std::string where = "model '" + file.string() + "'";
    std::string backbone = src.backbone;
    std::filesystem::path weights = src.weights;
    nn::RasConfig cfg;
    if (meta.count("ras.channels")) {
      cfg = nn::config_from_metadata(meta, where);
      if (backbone.empty()) backbone = io::meta_string(meta, "backbone.name", where);
      if (weights.empty()) weights = io::meta_string(meta, "backbone.weights", where);
      RAS_CHECK(!backbone.empty() && backbone.size() <= 256, where,
                ": metadata field 'backbone.name': expected a backbone name but found '", backbone.substr(0, 64), "'");
      // A lower bound of the parameter count the configuration implies (attention and feed-forward
      // weights of every layer, input and output projections) must fit in the file: a forged
      // configuration cannot make us allocate far more than the file holds.
      const double h = double(cfg.hidden), layers = double(cfg.encoder_layers + cfg.decoder_layers);
      const double implied = layers * (4 * h * h + 2 * h * double(cfg.ffn)) + 2 * double(cfg.channels) * h;
      std::error_code ec;
      const double bytes = double(std::filesystem::file_size(file, ec));
      RAS_CHECK(implied <= bytes, where, ": the configuration in its metadata implies at least ", implied,
                " parameters but the file has only ", bytes, " bytes");
    } else {
      RAS_CHECK(!backbone.empty(), "model ", file.string(),
                " has no ras metadata (an official checkpoint?): pass --backbone to say which backbone it uses");
    }
    BackbonePtr net = make_backbone(backbone);
    if (!meta.count("ras.channels")) cfg.channels = net->neck_channels();
    if (weights.empty()) {
      RAS_CHECK(st.has(first_backbone_key(st)), "model ", file.string(),
                " holds no backbone weights: pass --weights");
      weights = file;
      load_backbone_weights(*net, file, "backbone.");
    } else {
      load_backbone_weights(*net, weights);
    }
    nn::RasReconstruction<float> model(cfg, 0);
    io::LoadOptions o;
    o.strict = true;
    o.prefix = "reconstruction.";
    io::load_state_dict(model, st, o);
    Detector det(std::move(model), std::move(net), backbone, weights, src.feature_cache);
    if (!src.ignore_calibration) det.calibration_ = calibration_from_metadata(meta, st.label());  // validated
    return det;
  }

  // Writes the model and everything needed to rebuild the detector (atomically).
  void save(const std::filesystem::path& file, const std::map<std::string, std::string>& extra = {}) {
    save_model(model_, file, backbone_name_, weights_, extra);
  }
  static void save_model(nn::RasReconstruction<float>& model, const std::filesystem::path& file,
                         const std::string& backbone, const std::filesystem::path& weights,
                         const std::map<std::string, std::string>& extra = {}) {
    io::SafetensorsWriter w;
    io::add_state_dict(w, model, "reconstruction.");
    for (const auto& [k, v] : nn::to_metadata(model.config())) w.set_metadata(k, v);
    w.set_metadata("format", "ras-model");
    w.set_metadata("backbone.name", backbone);
    w.set_metadata("backbone.weights", std::filesystem::absolute(weights).string());
    w.set_metadata("backbone.weights_fnv1a64", hex64(hash_file(weights)));
    for (const auto& [k, v] : extra) w.set_metadata(k, v);
    w.write(file);
  }

  nn::RasReconstruction<float>& model() { return model_; }
  AnyBackbone& backbone() { return *backbone_; }
  FeatureExtractor& extractor() { return *extractor_; }
  const std::string& backbone_name() const { return backbone_name_; }
  // The threshold and normalisation stored by `ras calibrate` (std::nullopt when the model has none).
  const std::optional<Calibration>& calibration() const { return calibration_; }
  Index image_size() const { return extractor_->image_size(); }

  // From now on the backbone runs through `backbone` and the maps and scores through `model` (copies
  // on another device, pipeline/device_compute.hpp); nullptrs: back to the Cpu. The copies hold the
  // weights as they were when made: changing model() afterwards does not reach them.
  void set_compute(std::shared_ptr<BackboneCompute> backbone, std::shared_ptr<ModelCompute> model) {
    extractor_->set_compute(std::move(backbone));
    model_compute_ = std::move(model);
  }
  // "cpu", or the device of set_compute ("cuda (NVIDIA H200)").
  std::string device_name() const { return model_compute_ ? model_compute_->device_name() : std::string("cpu"); }

  // features: (N, C, h, w) -> anomaly maps (N, 1, size, size) (size = 224 by default). On the Cpu:
  // images in fixed chunks of `chunk` spread over Cpu::num_threads() workers with single-threaded
  // kernels (model::anomaly_maps): the maps do not depend on the thread count.
  Tensor<float, 4> maps_from_features(const Tensor<float, 4>& features, Index size = 0, Index chunk = 4) {
    if (size <= 0) size = image_size();
    Tensor<float, 4> maps;
    if (model_compute_) {
      maps = model_compute_->maps(features, size, size);
    } else {
      model_.set_training(false);
      maps = model::anomaly_maps(model_, features, size, size, chunk).release();
    }
    check_finite(maps);
    return maps;
  }

  // features: (N, C, h, w) -> maps (N, 1, size, size) and the N image scores (max of the kernel x
  // kernel box filter): the box filter runs where the maps were made.
  MapsAndScores maps_and_scores(const Tensor<float, 4>& features, Index size = 0, Index kernel = 16) {
    if (size <= 0) size = image_size();
    MapsAndScores r;
    if (model_compute_) {
      r = model_compute_->maps_and_scores(features, size, kernel);
      check_finite(r.maps);
    } else {
      r.maps = maps_from_features(features, size);
      r.scores = model::image_scores(r.maps, kernel);
    }
    return r;
  }

  // One image -> score and 224x224 map (original_size: the map upsampled to the image's own size).
  ScoredImage score(const std::filesystem::path& image, bool original_size = false) {
    auto f = extractor_->features(image);
    auto feats = std::move(f).reshape<4>({1, f.dim(0), f.dim(1), f.dim(2)});
    Index h = 0, w = 0;
    if (original_size) {
      const auto img = io::load_image(image.string());
      h = img.height, w = img.width;
    }
    return score_features(feats, "image '" + image.string() + "': ", original_size, h, w);
  }

  // An RGB image in memory: rgb (H, W, 3) uint8, row-major -> score and map (224 x 224, or H x W
  // when original_size). The pixels are copied once into the resize input.
  ScoredImage score(TensorView<const std::uint8_t, 3> rgb, bool original_size = false) {
    RAS_CHECK(rgb.dim(2) == 3 && rgb.dim(0) >= 1 && rgb.dim(1) >= 1, "Detector::score: expected an RGB image of "
              "shape (H, W, 3) but got ", shape_string(rgb.shape()));
    io::Image img(rgb.dim(0), rgb.dim(1), 3);
    std::copy(rgb.data(), rgb.data() + rgb.numel(), img.pixels.begin());
    auto f = extractor_->features(img);
    auto feats = std::move(f).reshape<4>({1, f.dim(0), f.dim(1), f.dim(2)});
    return score_features(feats, "", original_size, img.height, img.width);
  }

 private:
  static void check_finite(const Tensor<float, 4>& maps) {
    const Index bad = kernels::count_non_finite<float>(maps.numel(), maps.data());
    RAS_CHECK(bad == 0, "Detector: the anomaly maps hold ", bad, " non-finite values; expected finite maps "
              "(non-finite features or weights?): refusing to score them");
  }

  // feats: (1, C, h, w) -> the score and the map (size x size, or h x w when original_size);
  // `where` prefixes the message of a failure (names the image).
  ScoredImage score_features(const Tensor<float, 4>& feats, const std::string& where, bool original_size, Index h,
                             Index w) {
    MapsAndScores m;
    try {
      m = maps_and_scores(feats);
    } catch (const Error& e) {
      if (where.empty()) throw;
      throw Error(where + e.what());
    }
    ScoredImage r;
    r.score = m.scores[0];
    if (!original_size) {
      r.map = std::move(m.maps).reshape<2>({image_size(), image_size()});
    } else if (model_compute_) {
      r.map = model_compute_->maps(feats, h, w).reshape<2>({h, w});
    } else {
      autograd::InferenceMode no_tape;
      auto rec = model_(feats);
      auto up = model::upsample_map(model::anomaly_map_grid(rec.value(), feats), h, w);
      r.map = std::move(up).release().reshape<2>({h, w});
    }
    return r;
  }

  static std::string first_backbone_key(const io::SafetensorsFile& st) {
    for (const auto& k : st.keys())
      if (k.rfind("backbone.", 0) == 0) return k;
    return "backbone.";
  }

  nn::RasReconstruction<float> model_;
  BackbonePtr backbone_;
  std::string backbone_name_;
  std::filesystem::path weights_;
  std::unique_ptr<FeatureExtractor> extractor_;
  std::shared_ptr<ModelCompute> model_compute_;
  std::optional<Calibration> calibration_;
};

}  // namespace ras::pipeline
