// Compile-time extents: EfficientNet-B4 features (272 channels at 14x14) are not MobileNetV2 features
// (168 channels): converting one typed batch into the other must not compile
// (ctest compile_fail_wrong_feature_channels).
#include "ras/tensor.hpp"

using B4Features = ras::ShapedTensor<float, ras::Extents<ras::dyn, 272, 14, 14>>;
using MobileNetFeatures = ras::ShapedTensor<float, ras::Extents<ras::dyn, 168, 14, 14>>;
using AnyFeatures = ras::ShapedTensor<float, ras::Extents<ras::dyn, ras::dyn, 14, 14>>;

int main() {
  MobileNetFeatures f(ras::Tensor<float, 4>({2, 168, 14, 14}));
#if RAS_COMPILE_FAIL
  B4Features g = std::move(f);
#else
  AnyFeatures g = std::move(f);
#endif
  return g.dim(1) == 168 ? 0 : 1;
}
