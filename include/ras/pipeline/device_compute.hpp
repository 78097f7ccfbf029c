// ras/pipeline/device_compute.hpp — the scoring pipeline on a device D (pipeline/compute.hpp):
// copies of the frozen backbone and of the RAS model on D, fed with host tensors and giving host
// tensors back. The backbone + neck, the reconstruction, the anomaly map (channel distance), the
// bilinear upsampling and the box filter of the image score all run on D; only preprocessed images
// go in and features, maps and scores come out.
//
//   ras::pipeline::use_device<ras::Cuda>(detector);   // a .cu translation unit: #include "ras/cuda.cuh"
//
// For D = Cuda this header must be compiled by nvcc next to ras/cuda.cuh (RAS_WITH_CUDA builds);
// D = Reference (host memory, the parity oracle's kernels) runs the same code on any build.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "ras/autograd/tape.hpp"
#include "ras/model/ras_model.hpp"
#include "ras/model/scoring.hpp"
#include "ras/nn/transfer.hpp"
#include "ras/pipeline/compute.hpp"
#include "ras/pipeline/detector.hpp"

namespace ras::pipeline {

namespace detail_device {

// "cuda (NVIDIA H200)" for the GPU, D::name otherwise.
template <class D>
std::string device_label() {
#if defined(RAS_WITH_CUDA)
  if constexpr (std::is_same_v<D, Cuda>) return "cuda (" + cuda_device_name() + ")";
#endif
  return D::name;
}

// Host rows [n0, n0 + n) of x: (N, ...) -> a tensor on D (one copy).
template <class D, int R>
Tensor<float, R, D> rows_to(const Tensor<float, R>& x, Index n0, Index n) {
  Shape<R> s = x.shape();
  s[0] = n;
  auto t = Tensor<float, R, D>::uninitialized(s);
  copy_between_devices<Cpu, D>(t.data(), x.data() + n0 * x.row_size(), t.bytes());
  return t;
}

}  // namespace detail_device

// The frozen backbone + MFCN neck on D, a copy (architecture, weights, buffers) of a host backbone.
template <class D>
class DeviceBackbone final : public BackboneCompute {
 public:
  using Variant = std::variant<nn::MobileNetV2<float, D>, nn::EfficientNet<float, D>>;

  // batch: images per forward pass on D.
  explicit DeviceBackbone(AnyBackbone& host, Index batch = 16) : net_(copy_of(host)), batch_(batch) {
    RAS_CHECK(batch >= 1, "DeviceBackbone: expected a batch of at least 1 image but got ", batch);
    std::visit([&](auto& net) { net.chunk_size = batch_; }, net_);
  }

  std::string device_name() const override { return detail_device::device_label<D>(); }
  Index batch_size() const override { return batch_; }

  // images: (N, 3, S, S) host -> (N, C, h, w) host
  Tensor<float, 4> neck(const Tensor<float, 4>& images) override {
    return std::visit([&](auto& net) { return net.neck(images.template to<D>()).template to<Cpu>(); }, net_);
  }
  // images: (N, 3, S, S) host -> level l: (N, C_l, H_l, W_l) host
  std::vector<Tensor<float, 4>> taps(const Tensor<float, 4>& images) override {
    auto levels = std::visit([&](auto& net) { return net.features(images.template to<D>()); }, net_);
    std::vector<Tensor<float, 4>> out;
    for (const auto& l : levels) out.push_back(l.template to<Cpu>());
    return out;
  }

 private:
  static Variant copy_of(AnyBackbone& host) {
    return host.visit([](auto& h) -> Variant {
      using Host = std::decay_t<decltype(h)>;
      if constexpr (std::is_same_v<Host, nn::MobileNetV2<float>>) {
        nn::MobileNetV2<float, D> dev(h.taps, h.classifier.out_features());
        nn::copy_module_state<float, Cpu, D>(h, dev);
        return Variant(std::move(dev));
      } else {
        static_assert(std::is_same_v<Host, nn::EfficientNet<float>>, "DeviceBackbone: a backbone without a copy");
        nn::EfficientNet<float, D> dev(h.config, h.taps);
        nn::copy_module_state<float, Cpu, D>(h, dev);
        return Variant(std::move(dev));
      }
    });
  }

  Variant net_;
  Index batch_;
};

// The RAS reconstruction and scoring on D, a copy of a host model's weights (eval mode).
template <class D>
class DeviceModel final : public ModelCompute {
 public:
  // chunk: images per forward pass on D.
  explicit DeviceModel(nn::RasReconstruction<float>& host, Index chunk = 32) : model_(host.config(), 0), chunk_(chunk) {
    RAS_CHECK(chunk >= 1, "DeviceModel: expected a chunk of at least 1 image but got ", chunk);
    nn::copy_module_state<float, Cpu, D>(host, model_);
    model_.set_training(false);
  }

  std::string device_name() const override { return detail_device::device_label<D>(); }

  MapsAndScores maps_and_scores(const Tensor<float, 4>& features, Index size, Index kernel) override {
    MapsAndScores r;
    r.maps = Tensor<float, 4>::uninitialized({features.dim(0), 1, size, size});
    r.scores.reserve(static_cast<std::size_t>(features.dim(0)));
    for_chunks(features, size, size, [&](Index n0, const MapBatch<float, D>& map) {
      for (double s : model::image_scores(map, kernel)) r.scores.push_back(s);  // box filter on D
      r.maps.set_rows(n0, map.tensor().template to<Cpu>());
    });
    return r;
  }

  Tensor<float, 4> maps(const Tensor<float, 4>& features, Index out_h, Index out_w) override {
    auto out = Tensor<float, 4>::uninitialized({features.dim(0), 1, out_h, out_w});
    for_chunks(features, out_h, out_w, [&](Index n0, const MapBatch<float, D>& map) {
      out.set_rows(n0, map.tensor().template to<Cpu>());
    });
    return out;
  }

 private:
  // features (N, C, h, w) host, chunk by chunk on D -> consume(n0, maps (n, 1, out_h, out_w) on D)
  template <class F>
  void for_chunks(const Tensor<float, 4>& features, Index out_h, Index out_w, F&& consume) {
    const auto& cfg = model_.config();
    RAS_CHECK(features.dim(0) >= 1 && features.dim(1) == cfg.channels && features.dim(2) == cfg.feature_h &&
                  features.dim(3) == cfg.feature_w,
              "DeviceModel: expected features of shape (N, ", cfg.channels, ", ", cfg.feature_h, ", ", cfg.feature_w,
              ") with N >= 1 but got ", shape_string(features.shape()));
    RAS_CHECK(out_h >= 1 && out_w >= 1, "DeviceModel: expected a positive map size but got ", out_h, "x", out_w);
    autograd::InferenceMode no_tape;
    const Index N = features.dim(0);
    for (Index n0 = 0; n0 < N; n0 += chunk_) {
      const Index n = std::min(chunk_, N - n0);
      const auto x = detail_device::rows_to<D>(features, n0, n);
      const auto rec = model_(x);
      consume(n0, model::upsample_map(model::anomaly_map_grid(rec.value(), x), out_h, out_w));
    }
  }

  nn::RasReconstruction<float, D> model_;
  Index chunk_;
};

// Moves the detector's computing to D: copies of its backbone and of its RAS model's current
// weights on D (features, maps and scores computed there from now on). batch: images per backbone
// pass, chunk: images per reconstruction pass.
template <class D>
void use_device(Detector& det, Index batch = 16, Index chunk = 32) {
  det.set_compute(std::make_shared<DeviceBackbone<D>>(det.backbone(), batch),
                  std::make_shared<DeviceModel<D>>(det.model(), chunk));
}

}  // namespace ras::pipeline
