// ras/pipeline/compute.hpp — the compute seam of the scoring pipeline: where the backbone + neck and
// the RAS maps / scores run when not on the Cpu tensors of the Detector itself. Host tensors in,
// host tensors out, so the Detector and FeatureExtractor keep their Cpu API (caching, metrics and
// files stay on the host). The device implementation is pipeline/device_compute.hpp
// (DeviceBackbone<D>, DeviceModel<D>, use_device<D>(detector)); an instance is used from one host
// thread at a time (the FeatureExtractor serialises its calls).
#pragma once

#include <string>
#include <vector>

#include "ras/tensor.hpp"

namespace ras::pipeline {

// Anomaly maps and their image scores, on the host.
struct MapsAndScores {
  Tensor<float, 4> maps;       // (N, 1, size, size)
  std::vector<double> scores;  // N: max of the k x k box-filtered map
};

// The frozen backbone + MFCN neck on some device.
class BackboneCompute {
 public:
  virtual ~BackboneCompute() = default;
  // "cuda (NVIDIA H200)", for logs.
  virtual std::string device_name() const = 0;
  // Images per call that keep the device busy (the FeatureExtractor batches this many).
  virtual Index batch_size() const = 0;
  // images: (N, 3, S, S) preprocessed, host -> (N, C, h, w) neck features, host
  virtual Tensor<float, 4> neck(const Tensor<float, 4>& images) = 0;
  // images: (N, 3, S, S), host -> level l: (N, C_l, H_l, W_l), host
  virtual std::vector<Tensor<float, 4>> taps(const Tensor<float, 4>& images) = 0;
};

// The RAS reconstruction + scoring on some device (weights copied when it was made).
class ModelCompute {
 public:
  virtual ~ModelCompute() = default;
  virtual std::string device_name() const = 0;
  // features: (N, C, h, w), host -> maps (N, 1, size, size) and N scores (kernel x kernel box filter)
  virtual MapsAndScores maps_and_scores(const Tensor<float, 4>& features, Index size, Index kernel) = 0;
  // features: (N, C, h, w), host -> maps (N, 1, out_h, out_w) upsampled to any size, host
  virtual Tensor<float, 4> maps(const Tensor<float, 4>& features, Index out_h, Index out_w) = 0;
};

}  // namespace ras::pipeline
