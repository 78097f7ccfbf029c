// examples/ras/cmd_backbone.cpp — `ras classify` (top-5 ImageNet classes with MobileNetV2's
// classifier) and `ras features` (neck features, optionally the four tapped levels, as .npy).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "commands.hpp"
#include "common.hpp"
#include "cuda_pipeline.hpp"
#include "device.hpp"
#include "ras/io/npy.hpp"
#include "imagenet_classes.hpp"
#include "mpi_world.hpp"
#include "ras/pipeline/sharded.hpp"

namespace ras_cli {

int cmd_classify(int argc, char** argv) {
  Args a("classify", "--backbone mobilenet_v2 --weights FILE IMAGE...",
         {{"backbone", "backbone with a classifier head", false, false, "mobilenet_v2"},
          {"weights", "weights file (safetensors)"},
          {"top", "classes to print per image", false, false, "5"},
          threads_option()});
  a.parse(argc, argv, 2);
  if (a.help()) return std::printf("%s", a.usage().c_str()), 0;
  apply_threads(a);
  RAS_CHECK(a.get("backbone") == "mobilenet_v2", "ras classify: only mobilenet_v2 has a classifier head here, got ",
            a.get("backbone"));
  ras::nn::MobileNetV2<float> net;
  ras::pipeline::load_backbone_weights(net, a.required("weights"));
  const long top = a.integer("top", 1, 1001);
  for (const auto& path : expand_images(a.positional())) {
    auto x = ras::io::preprocess<float>(ras::io::load_image(path.string()), 224, ras::io::Normalization::symmetric);
    auto logits = net.logits(x);  // (1, 1001)
    const float* l = logits.value().data();
    const ras::Index n = logits.dim(1);
    const float mx = *std::max_element(l, l + n);
    double sum = 0;
    for (ras::Index i = 0; i < n; ++i) sum += std::exp(double(l[i] - mx));
    std::vector<ras::Index> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](auto i, auto j) { return l[i] > l[j]; });
    std::printf("%s\n", path.string().c_str());
    for (long k = 0; k < top; ++k) {
      const ras::Index o = order[static_cast<std::size_t>(k)];
      const double p = std::exp(double(l[o] - mx)) / sum;
      const std::string name = o == 0 ? "background" : std::string(ras::nn::imagenet_classes[static_cast<std::size_t>(o - 1)]);
      std::printf("  %.4f  output %4lld  ImageNet class %4lld  %s\n", p, static_cast<long long>(o),
                  static_cast<long long>(o - 1), name.c_str());
    }
  }
  return 0;
}

int cmd_features(int argc, char** argv) {
  Args a("features", "--backbone NAME --weights FILE --out F.npy [--taps DIR] IMAGE...",
         {{"backbone", std::string("backbone: ") + ras::pipeline::backbone_names_help(), false, false, "mobilenet_v2"},
          {"weights", "weights file (safetensors)"},
          {"out", "output .npy of shape (N, C, 14, 14), float32"},
          {"taps", "also write level1..level4 (N, C_l, H_l, W_l) as .npy into this folder"},
          threads_option(), device_option()});
  a.parse(argc, argv, 2);
  if (a.help()) return std::printf("%s", a.usage().c_str()), 0;
  const DeviceChoice device = select_device(a);
  apply_threads(a);
  const auto images = expand_images(a.positional());
  const std::string name = a.get("backbone"), out = a.required("out");
  auto net = ras::pipeline::load_backbone(name, a.required("weights"));
  ras::pipeline::FeatureExtractor extractor(*net, name);
  if (device == DeviceChoice::cuda) extractor.set_compute(backbone_on_cuda(*net, "features"));
  // over several ranks: sharded, rank 0 writes (the taps are computed there alone)
  auto neck = ras::pipeline::sharded_features(extractor, images, images.size() > 1 ? "features" : "", world());
  if (!is_root()) return 0;
  std::vector<ras::Tensor<float, 4>> levels;
  if (a.has("taps")) {
    ras::train::ProgressBar bar("taps", static_cast<long>(images.size()), "img");
    for (std::size_t i = 0; i < images.size(); ++i) {
      auto taps = extractor.compute() ? extractor.compute()->taps(extractor.input(images[i]).tensor())
                                      : net->features(extractor.input(images[i]));
      if (levels.empty())
        for (auto& t : taps)
          levels.push_back(ras::Tensor<float, 4>::uninitialized({ras::Index(images.size()), t.dim(1), t.dim(2), t.dim(3)}));
      for (std::size_t l = 0; l < levels.size(); ++l)
        std::copy(taps[l].data(), taps[l].data() + taps[l].numel(), levels[l].data() + ras::Index(i) * taps[l].numel());
      if (images.size() > 1) bar.update(static_cast<long>(i + 1));
    }
  }
  ras::io::save_npy(out, neck);
  std::printf("wrote %s %s\n", out.c_str(), ras::shape_string(neck.shape()).c_str());
  if (a.has("taps")) {
    std::filesystem::create_directories(a.get("taps"));
    for (std::size_t l = 0; l < levels.size(); ++l) {
      auto p = std::filesystem::path(a.get("taps")) / ("level" + std::to_string(l + 1) + ".npy");
      ras::io::save_npy(p, levels[l]);
      std::printf("wrote %s %s\n", p.string().c_str(), ras::shape_string(levels[l].shape()).c_str());
    }
  }
  return 0;
}

}  // namespace ras_cli
