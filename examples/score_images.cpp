// examples/score_images.cpp — scoring new images from C++ with a trained RAS run:
//   score_images RUN_DIR IMAGE...
// prints "path score" per image and the location of the most anomalous pixel of its 224x224 map.
#include <cstdio>
#include <algorithm>
#include <exception>

#include <ras/pipeline/detector.hpp>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s RUN_DIR IMAGE...\n", argv[0]);
    return 2;
  }
  try {
    // The run folder's model.safetensors names its backbone and weights file.
    auto detector = ras::pipeline::Detector::load({argv[1]});
    for (int i = 2; i < argc; ++i) {
      ras::pipeline::ScoredImage r = detector.score(argv[i]);
      const float* m = r.map.data();
      const ras::Index n = r.map.numel(), best = std::max_element(m, m + n) - m;
      std::printf("%s %.6f (peak at row %lld, column %lld)\n", argv[i], r.score,
                  static_cast<long long>(best / r.map.dim(1)), static_cast<long long>(best % r.map.dim(1)));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
