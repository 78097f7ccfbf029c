// examples/xtensor_detector.cpp — the detector on an image held in an xt::xtensor<uint8_t, 3>
// (H, W, 3), the anomaly map back as an xtensor: ras::interop::from_xtensor views the xtensor's
// memory as a ras TensorView (no copy), Detector::score takes it, ras::interop::to_xtensor views
// the returned map as an xtensor adaptor (no copy), and assigning it to an xt::xtensor<float, 2>
// makes an owning copy. Usage: xtensor_detector RUN IMAGE [--original-size]
#include <cstdio>
#include <cstring>
#include <exception>

#include <xtensor/xsort.hpp>
#include <xtensor/xtensor.hpp>

#include "ras/interop/xtensor.hpp"
#include "ras/io/image.hpp"
#include "ras/pipeline/detector.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s RUN IMAGE [--original-size]\n", argv[0]);
    return 2;
  }
  try {
    const bool original = argc > 3 && !std::strcmp(argv[3], "--original-size");
    // An application's image as an xtensor (here decoded by ras; any source of H x W x 3 bytes works).
    const auto decoded = ras::io::load_image(argv[2], 3);
    xt::xtensor<std::uint8_t, 3> image = xt::zeros<std::uint8_t>(
        {static_cast<std::size_t>(decoded.height), static_cast<std::size_t>(decoded.width), std::size_t(3)});
    std::copy(decoded.pixels.begin(), decoded.pixels.end(), image.begin());

    ras::pipeline::DetectorSource source;
    source.model = argv[1];
    auto detector = ras::pipeline::Detector::load(source);
    ras::TensorView<const std::uint8_t, 3> view = ras::interop::from_xtensor<3>(std::as_const(image));
    ras::pipeline::ScoredImage r = detector.score(view, original);

    auto map_view = ras::interop::to_xtensor(r.map);  // xtensor adaptor over r.map's memory
    xt::xtensor<float, 2> map = map_view;             // an owning copy, independent of r
    const auto argmax = xt::argmax(map)();
    std::printf("image %s: %zu x %zu, score %.6f\n", argv[2], image.shape()[0], image.shape()[1], r.score);
    std::printf("map %zu x %zu (xtensor), max %.6f at row %zu col %zu, mean %.6f\n", map.shape()[0], map.shape()[1],
                static_cast<double>(xt::amax(map)()), argmax / map.shape()[1], argmax % map.shape()[1],
                static_cast<double>(xt::mean(map)()));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xtensor_detector: error: %s\n", e.what());
    return 1;
  }
}
