// Compile-time extents (design_extents.hpp): image scores are computed from anomaly maps
// (N, 1, H, W). Handing them images (N, 3, H, W) must not compile (ctest compile_fail_images_into_scores).
#include "ras/model/scoring.hpp"

int main() {
#if RAS_COMPILE_FAIL
  ras::ImageBatch<float> x(ras::Tensor<float, 4>({1, 3, 16, 16}));
#else
  ras::MapBatch<float> x(ras::Tensor<float, 4>({1, 1, 16, 16}));
#endif
  return ras::model::image_scores(x, 4).size() == 1 ? 0 : 1;
}
