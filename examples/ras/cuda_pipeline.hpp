// examples/ras/cuda_pipeline.hpp — the GPU half of `ras features|score|eval --device cuda`: the
// detector's or the backbone's computing moved onto the GPU (ras/pipeline/device_compute.hpp with
// D = ras::Cuda). Defined in cuda_pipeline.cpp, the one CLI translation unit besides cmd_train.cpp
// that nvcc compiles in a RAS_WITH_CUDA build; in a CPU-only build these throw ras::Error (the
// --device check, device.hpp, stops such a build earlier).
#pragma once

#include <memory>

#include "ras/pipeline/compute.hpp"

namespace ras::pipeline {
class AnyBackbone;
class Detector;
}  // namespace ras::pipeline

namespace ras_cli {

// Copies the detector's backbone and RAS model (its current weights) to the GPU: features (batched,
// the next images decoded on host threads meanwhile), maps and scores run there. Says so on stderr,
// naming `command`, when `announce`.
void detector_to_cuda(ras::pipeline::Detector& det, const char* command, bool announce = true);

// A copy of the backbone on the GPU (`ras features`: neck and taps), for FeatureExtractor::set_compute.
std::shared_ptr<ras::pipeline::BackboneCompute> backbone_on_cuda(ras::pipeline::AnyBackbone& backbone,
                                                                 const char* command);

}  // namespace ras_cli
