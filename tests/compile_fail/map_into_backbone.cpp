// Compile-time extents (design_extents.hpp): a backbone takes images (N, 3, H, W). Handing it an
// anomaly map (N, 1, H, W) must not compile; built with RAS_COMPILE_FAIL=1 by the ctest entry
// compile_fail_map_into_backbone, which passes only when the compiler rejects it with our message.
#include "ras/backbones/mobilenet_v2.hpp"

int main() {
  ras::nn::MobileNetV2<float> net;
#if RAS_COMPILE_FAIL
  ras::MapBatch<float> x(ras::Tensor<float, 4>({1, 1, 32, 32}));
#else
  ras::ImageBatch<float> x(ras::Tensor<float, 4>({1, 3, 32, 32}));
#endif
  return net.neck(x).numel() > 0 ? 0 : 1;
}
