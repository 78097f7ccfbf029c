// ras/pipeline/features.hpp — images to RAS input features: PIL-bilinear resize to 224, the
// backbone's normalisation, backbone taps and the MFCN neck -> (C, 14, 14) per image. The
// backbone is frozen and there is no augmentation, so features are a pure function of (image
// content, backbone, weights): they are computed once, kept in memory and, when a cache folder is
// given, stored as <cache>/<backbone>-<weights hash>/<image content hash>.npy.
#pragma once

#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ras/io/npy.hpp"
#include "ras/pipeline/backbones.hpp"
#include "ras/pipeline/hash.hpp"
#include "ras/train/progress.hpp"

namespace ras::pipeline {

class FeatureExtractor {
 public:
  // backbone_id names the backbone and its weights (e.g. "mobilenet_v2-<hash>"); cache may be empty.
  FeatureExtractor(AnyBackbone& backbone, std::string backbone_id, std::filesystem::path cache = {},
                   Index image_size = 224)
      : backbone_(backbone), id_(std::move(backbone_id)), image_size_(image_size) {
    if (!cache.empty()) {
      cache_dir_ = cache / id_;
      std::filesystem::create_directories(cache_dir_);
    }
  }

  Index channels() const { return backbone_.neck_channels(); }
  Index image_size() const { return image_size_; }

  // The preprocessed network input of one image: (1, 3, size, size).
  ImageBatch<float> input(const std::filesystem::path& image) const {
    return ImageBatch<float>(
        io::preprocess<float>(io::load_image(image.string()), image_size_, input_normalization(backbone_)));
  }

  // One image -> (C, h, w) features (from memory, the cache folder, or the backbone).
  Tensor<float, 3> features(const std::filesystem::path& image) { return compute_uncached(image); }

  // An RGB image already in memory -> (C, h, w) features (never cached).
  Tensor<float, 3> features(const io::Image& image) const {
    auto neck = backbone_.neck(io::preprocess<float>(image, image_size_, input_normalization(backbone_)));
    return std::move(neck).template reshape<3>({neck.dim(1), neck.dim(2), neck.dim(3)});
  }

 private:
  static bool all_finite(const Tensor<float, 3>& t) { return kernels::count_non_finite<float>(t.numel(), t.data()) == 0; }
  // Thread-safe: the memory cache and counters are guarded, the backbone runs in eval mode only.
  Tensor<float, 3> compute_uncached(const std::filesystem::path& image) {
    const std::string key = hex64(hash_file(image));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = memory_.find(key); it != memory_.end()) return it->second.clone();
    }
    const auto file = cache_dir_.empty() ? std::filesystem::path() : cache_dir_ / (key + ".npy");
    Tensor<float, 3> f;
    if (!file.empty() && std::filesystem::exists(file)) {
      try {
        f = io::load_npy<float, 3>(file);
        RAS_CHECK(all_finite(f), "feature cache entry ", file.string(), " holds non-finite values");
        std::lock_guard<std::mutex> lock(mutex_);
        ++cache_hits_;
      } catch (const Error&) {
        f = Tensor<float, 3>();  // a damaged cache entry is recomputed
      }
    }
    if (f.empty()) {
      auto neck = backbone_.neck(input(image));
      f = std::move(neck).template reshape<3>({neck.dim(1), neck.dim(2), neck.dim(3)});
      RAS_CHECK(all_finite(f), "image '", image.string(), "': the backbone gives non-finite (NaN/Inf) features; "
                "expected finite values (damaged backbone weights?)");
      if (!file.empty()) io::save_npy(file, f);
      std::lock_guard<std::mutex> lock(mutex_);
      ++computed_;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    memory_.emplace(key, f.clone());
    return f;
  }

 public:

  // Many images -> (N, C, h, w), with a progress bar when `label` is not empty. Images run in
  // parallel, one per thread with single-threaded kernels inside (nested OpenMP regions are
  // inactive): coarse-grained work is robust to a busy host, where per-op threading is not.
  Tensor<float, 4> features(const std::vector<std::filesystem::path>& images, const std::string& label = "") {
    RAS_CHECK(!images.empty(), "FeatureExtractor: no images");
    const Index N = static_cast<Index>(images.size());
    std::vector<std::string> keys(images.size());
    std::vector<Tensor<float, 3>> found(images.size());
    // The first image runs alone: it settles the backbone's eval mode and the feature shape.
    found[0] = features(images[0]);
    train::ProgressBar bar(label, static_cast<long>(N), "img");
    long done = 1;
    std::vector<std::string> errors(images.size());
#pragma omp parallel for schedule(dynamic, 1)
    for (Index i = 1; i < N; ++i) {
      try {
        found[static_cast<std::size_t>(i)] = compute_uncached(images[static_cast<std::size_t>(i)]);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(i)] = e.what();
      }
#pragma omp critical(ras_feature_progress)
      {
        ++done;
        if (!label.empty()) bar.update(done);
      }
    }
    for (const auto& e : errors) RAS_CHECK(e.empty(), e);
    const auto& f0 = found[0];
    auto out = Tensor<float, 4>::uninitialized({N, f0.dim(0), f0.dim(1), f0.dim(2)});
    for (Index i = 0; i < N; ++i) {
      const auto& f = found[static_cast<std::size_t>(i)];
      check_same_shape<3>(f0.shape(), f.shape(), "FeatureExtractor: feature map");
      out.set_rows(i, f.reshaped<4>({1, f.dim(0), f.dim(1), f.dim(2)}));
    }
    return out;
  }

  long computed() const { return computed_; }
  long cache_hits() const { return cache_hits_; }

 private:
  AnyBackbone& backbone_;
  std::string id_;
  Index image_size_;
  std::filesystem::path cache_dir_;
  std::map<std::string, Tensor<float, 3>> memory_;
  std::mutex mutex_;
  long computed_ = 0, cache_hits_ = 0;
};

}  // namespace ras::pipeline
