// ras/pipeline/features.hpp — images to RAS input features: PIL-bilinear resize to 224, the
// backbone's normalisation, backbone taps and the MFCN neck -> (C, 14, 14) per image. The
// backbone is frozen and there is no augmentation, so features are a pure function of (image
// content, backbone, weights): they are computed once, kept in memory and, when a cache folder is
// given, stored as <cache>/<backbone>-<weights hash>/<image content hash>.npy.
// The backbone runs on the Cpu tensors it was given, or, after set_compute, on another device
// (pipeline/compute.hpp): then images go in batches, host threads decoding the next batch while the
// device runs the current one.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ras/io/npy.hpp"
#include "ras/pipeline/backbones.hpp"
#include "ras/pipeline/compute.hpp"
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
    auto neck = run_neck(io::preprocess<float>(image, image_size_, input_normalization(backbone_)));
    return std::move(neck).template reshape<3>({neck.dim(1), neck.dim(2), neck.dim(3)});
  }

  // Runs the backbone + neck through `compute` (another device) from now on; nullptr: back to the
  // Cpu backbone. Features agree up to rounding, so the cache is shared.
  void set_compute(std::shared_ptr<BackboneCompute> compute) { compute_ = std::move(compute); }
  const std::shared_ptr<BackboneCompute>& compute() const { return compute_; }

 private:
  static bool all_finite(const Tensor<float, 3>& t) { return kernels::count_non_finite<float>(t.numel(), t.data()) == 0; }
  // images: (N, 3, S, S) -> (N, C, h, w) on the Cpu backbone or through compute_ (one call at a time).
  Tensor<float, 4> run_neck(const Tensor<float, 4>& images) const {
    if (!compute_) return backbone_.neck(images);
    std::lock_guard<std::mutex> lock(compute_mutex_);
    return compute_->neck(images);
  }
  // From memory or the cache folder; an empty tensor when neither has it.
  Tensor<float, 3> lookup(const std::string& key) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = memory_.find(key); it != memory_.end()) return it->second.clone();
    }
    const auto file = cache_file(key);
    if (file.empty() || !std::filesystem::exists(file)) return {};
    try {
      auto f = io::load_npy<float, 3>(file);
      RAS_CHECK(all_finite(f), "feature cache entry ", file.string(), " holds non-finite values");
      std::lock_guard<std::mutex> lock(mutex_);
      ++cache_hits_;
      memory_.emplace(key, f.clone());
      return f;
    } catch (const Error&) {
      return {};  // a damaged cache entry is recomputed
    }
  }
  // Checks and keeps freshly computed features (memory and cache folder).
  void store(const std::filesystem::path& image, const std::string& key, const Tensor<float, 3>& f) {
    RAS_CHECK(all_finite(f), "image '", image.string(), "': the backbone gives non-finite (NaN/Inf) features; "
              "expected finite values (damaged backbone weights?)");
    if (const auto file = cache_file(key); !file.empty()) io::save_npy(file, f);
    std::lock_guard<std::mutex> lock(mutex_);
    ++computed_;
    memory_.emplace(key, f.clone());
  }
  std::filesystem::path cache_file(const std::string& key) const {
    return cache_dir_.empty() ? std::filesystem::path() : cache_dir_ / (key + ".npy");
  }
  // Thread-safe: the memory cache and counters are guarded, the backbone runs in eval mode only.
  Tensor<float, 3> compute_uncached(const std::filesystem::path& image) {
    const std::string key = hex64(hash_file(image));
    if (auto f = lookup(key); !f.empty()) return f;
    auto neck = run_neck(input(image));
    auto f = std::move(neck).template reshape<3>({neck.dim(1), neck.dim(2), neck.dim(3)});
    store(image, key, f);
    return f;
  }

  // found[i]: (C, h, w) -> (N, C, h, w)
  static Tensor<float, 4> stack(const std::vector<Tensor<float, 3>>& found) {
    const auto& f0 = found[0];
    const Index N = static_cast<Index>(found.size());
    auto out = Tensor<float, 4>::uninitialized({N, f0.dim(0), f0.dim(1), f0.dim(2)});
    for (Index i = 0; i < N; ++i) {
      const auto& f = found[static_cast<std::size_t>(i)];
      check_same_shape<3>(f0.shape(), f.shape(), "FeatureExtractor: feature map");
      out.set_rows(i, f.reshaped<4>({1, f.dim(0), f.dim(1), f.dim(2)}));
    }
    return out;
  }

  // The device path of features(images): cached entries looked up in parallel, the rest in batches
  // of compute_->batch_size() images; a host thread (itself using OpenMP) decodes and preprocesses
  // batch b + 1 while the device runs batch b.
  Tensor<float, 4> features_on_device(const std::vector<std::filesystem::path>& images, const std::string& label) {
    const Index N = static_cast<Index>(images.size());
    std::vector<std::string> keys(images.size()), errors(images.size());
    std::vector<Tensor<float, 3>> found(images.size());
#pragma omp parallel for schedule(dynamic, 1)
    for (Index i = 0; i < N; ++i) {
      const auto u = static_cast<std::size_t>(i);
      try {
        keys[u] = hex64(hash_file(images[u]));
        found[u] = lookup(keys[u]);
      } catch (const std::exception& e) {
        errors[u] = e.what();
      }
    }
    for (const auto& e : errors) RAS_CHECK(e.empty(), e);
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < found.size(); ++i)
      if (found[i].empty()) missing.push_back(i);
    train::ProgressBar bar(label, static_cast<long>(N), "img");
    long done = N - static_cast<long>(missing.size());
    const std::size_t B = static_cast<std::size_t>(std::max<Index>(1, compute_->batch_size()));
    const std::size_t batches = (missing.size() + B - 1) / B;
    // batch b of the missing images -> (n, 3, S, S), on a host thread of its own: the thread count
    // is passed on (an OpenMP setting of this thread does not reach another one).
    const int threads = Cpu::num_threads();
    auto decode = [&, threads](std::size_t b) {
      const std::size_t i0 = b * B, n = std::min(B, missing.size() - i0);
      auto x = Tensor<float, 4>::uninitialized({Index(n), 3, image_size_, image_size_});
      std::vector<std::string> errs(n);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
      for (Index j = 0; j < Index(n); ++j) {
        try {
          x.set_rows(j, input(images[missing[i0 + std::size_t(j)]]).tensor());
        } catch (const std::exception& e) {
          errs[std::size_t(j)] = e.what();
        }
      }
      for (const auto& e : errs) RAS_CHECK(e.empty(), e);
      return x;
    };
    std::future<Tensor<float, 4>> next;
    if (batches > 0) next = std::async(std::launch::async, decode, std::size_t(0));
    for (std::size_t b = 0; b < batches; ++b) {
      auto x = next.get();
      if (b + 1 < batches) next = std::async(std::launch::async, decode, b + 1);
      const auto f = run_neck(x);  // (n, C, h, w)
      RAS_CHECK(f.dim(0) == x.dim(0), "FeatureExtractor: the device gave features of ", f.dim(0), " images for a "
                "batch of ", x.dim(0));
      for (Index j = 0; j < f.dim(0); ++j) {
        const std::size_t i = missing[b * B + std::size_t(j)];
        found[i] = f.slice_rows(j, 1).template reshape<3>({f.dim(1), f.dim(2), f.dim(3)});
        store(images[i], keys[i], found[i]);
        ++done;
      }
      if (!label.empty()) bar.update(done);
    }
    return stack(found);
  }

 public:

  // Many images -> (N, C, h, w), with a progress bar when `label` is not empty. Images run in
  // parallel, one per thread with single-threaded kernels inside (nested OpenMP regions are
  // inactive): coarse-grained work is robust to a busy host, where per-op threading is not.
  Tensor<float, 4> features(const std::vector<std::filesystem::path>& images, const std::string& label = "") {
    RAS_CHECK(!images.empty(), "FeatureExtractor: no images");
    if (compute_) return features_on_device(images, label);
    const Index N = static_cast<Index>(images.size());
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
    return stack(found);
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
  std::shared_ptr<BackboneCompute> compute_;
  mutable std::mutex compute_mutex_;
  long computed_ = 0, cache_hits_ = 0;
};

}  // namespace ras::pipeline
