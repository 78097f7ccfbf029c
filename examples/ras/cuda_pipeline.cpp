// examples/ras/cuda_pipeline.cpp — the Cuda instantiation of the scoring pipeline for the `ras`
// program (cuda_pipeline.hpp). Compiled by nvcc in a RAS_WITH_CUDA build (examples/CMakeLists.txt),
// as plain C++ with throwing stubs otherwise, so the other command sources stay host-only C++.
#include "cuda_pipeline.hpp"

#include <cstdio>

#include "ras/config.hpp"

#if defined(RAS_WITH_CUDA) && defined(__CUDACC__)
#include "ras/pipeline/device_compute.hpp"
#include "ras/cuda.cuh"

namespace ras_cli {

void detector_to_cuda(ras::pipeline::Detector& det, const char* command, bool announce) {
  ras::require_cuda_device();
  ras::pipeline::use_device<ras::Cuda>(det);
  if (announce) std::fprintf(stderr, "ras %s: computing on %s\n", command, det.device_name().c_str());
}

std::shared_ptr<ras::pipeline::BackboneCompute> backbone_on_cuda(ras::pipeline::AnyBackbone& backbone,
                                                                 const char* command) {
  ras::require_cuda_device();
  auto b = std::make_shared<ras::pipeline::DeviceBackbone<ras::Cuda>>(backbone);
  std::fprintf(stderr, "ras %s: computing on %s\n", command, b->device_name().c_str());
  return b;
}

}  // namespace ras_cli

#else

namespace ras_cli {

namespace {
[[noreturn]] void no_cuda(const char* command) {
  ::ras::detail::throw_error("ras ", command, " --device cuda: this ras was built without the CUDA pipeline "
                             "(configure with -DRAS_WITH_CUDA=ON; cuda_pipeline.cpp must be compiled by nvcc)");
}
}  // namespace

void detector_to_cuda(ras::pipeline::Detector&, const char* command, bool) { no_cuda(command); }

std::shared_ptr<ras::pipeline::BackboneCompute> backbone_on_cuda(ras::pipeline::AnyBackbone&, const char* command) {
  no_cuda(command);
}

}  // namespace ras_cli

#endif
