// benchmarks/bench_backbone.cpp — the frozen backbones + MFCN neck (backbones/backbone.hpp: neck(x) ->
// (N, C, 14, 14) at 224), the C++ half of benchmarks/run_bench_backbone.sh (benchmarks/torch_backbone.py
// is the PyTorch half):
//   b4:           lukemelas EfficientNet-B4 (backbones/efficientnet.hpp), taps 1, 5, 9, 21, synthetic weights
//                 (testing/synthetic_weights.hpp, the same values as the Python side; timing does not
//                 depend on them), 272 neck channels
//   mobilenet_v2: TF MobileNetV2 (backbones/mobilenet_v2.hpp) with the shared ImageNet weights, taps 0, 2, 5, 12,
//                 168 neck channels
//   bench_backbone --model b4|mobilenet_v2 [--batch 1] [--threads 1] [--iters 3] [--warmup 1] [--chunk 1]
//                  [--sections] [--weights PATH] [--images DIR]
// --images DIR: the end-to-end case instead: the first --batch image files of DIR (sorted by name),
// one at a time as `ras score` does: decode (libpng/libjpeg), PIL-bilinear resize to 224, normalise,
// backbone + neck, RAS reconstruction (default configuration, random weights: timing does not depend
// on them) and anomaly map (224x224) and image score (max of the 16x16 box filter). Prints
// "RESULT impl=ras model=e2e-<model> ... seconds=S images_per_s=R check=<sum of scores>".
// Input: (B, 3, 224, 224), synthetic values in [-2, 2] ("fixture.input.224"). Each timed iteration is one
// Backbone::neck call (which runs --chunk images per forward pass, the library default 1) and prints
// "RESULT impl=ras ... seconds=S images_per_s=R check=V" and at the end "MAXRSS impl=ras ... mb=M" (peak
// resident set size). With --sections, one more pass over the batch
// runs the same computation op by op with timers (repeated until at least 8 images are timed) (a copy of the forward code of EfficientNet / MBConv /
// MobileNetV2 below, checked against neck()) and prints "SECTION ... kind=stage|op name=N seconds=S":
// stages = stem, stage0.. (the B0 table rows; MobileNetV2: its 7 setting rows), neck; ops = conv kinds,
// bn, act, se, add, neck.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/resource.h>
#include <filesystem>
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ras/autograd/ops_elementwise.hpp"
#include "ras/device.hpp"
#include "ras/io/state_dict.hpp"
#include "ras/backbones/efficientnet.hpp"
#include "ras/backbones/mobilenet_v2.hpp"
#include "ras/backbones/neck.hpp"
#include "ras/model/inference.hpp"
#include "ras/pipeline/backbones.hpp"
#include "ras/testing/synthetic_weights.hpp"

#ifndef RAS_SHARED_DIR
#define RAS_SHARED_DIR "../shared"
#endif

namespace {

namespace ag = ras::autograd;
namespace nn = ras::nn;
using ras::Index;
using VarT = ag::Var<float, 4>;
using TensorT = ras::Tensor<float, 4>;
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
// "MAXRSS <tag> mb=M": the process's peak resident set size (getrusage ru_maxrss).
void print_max_rss(const std::string& tag) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("MAXRSS %s mb=%.1f\n", tag.c_str(), double(usage.ru_maxrss) / 1024.0);
}

struct Args {
  std::string model = "b4", weights = std::string(RAS_SHARED_DIR) + "/weights/mobilenet_v2_imagenet.safetensors";
  Index batch = 1, chunk = 1, size = 224;
  int threads = 1, iters = 3, warmup = 1;
  bool sections = false;
  std::string images;  // the end-to-end case when not empty
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_backbone: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--model")) a.model = next();
    else if (!std::strcmp(argv[i], "--batch")) a.batch = std::atoll(next());
    else if (!std::strcmp(argv[i], "--chunk")) a.chunk = std::atoll(next());
    else if (!std::strcmp(argv[i], "--size")) a.size = std::atoll(next());
    else if (!std::strcmp(argv[i], "--threads")) a.threads = std::atoi(next());
    else if (!std::strcmp(argv[i], "--iters")) a.iters = std::atoi(next());
    else if (!std::strcmp(argv[i], "--warmup")) a.warmup = std::atoi(next());
    else if (!std::strcmp(argv[i], "--weights")) a.weights = next();
    else if (!std::strcmp(argv[i], "--sections")) a.sections = true;
    else if (!std::strcmp(argv[i], "--images")) a.images = next();
    else {
      std::fprintf(stderr,
                   "usage: bench_backbone --model b4|mobilenet_v2 [--batch B] [--threads T] [--iters K] "
                   "[--warmup W] [--chunk C] [--size 224] [--sections] [--weights PATH] [--images DIR]\n");
      std::exit(2);
    }
  }
  if ((a.model != "b4" && a.model != "mobilenet_v2") || a.batch < 1 || a.chunk < 1 || a.size < 16 ||
      a.threads < 1 || a.iters < 1 || a.warmup < 0) {
    std::fprintf(stderr, "bench_backbone: bad arguments\n");
    std::exit(2);
  }
  return a;
}

// Accumulates the seconds of named sections in first-seen order.
struct Timers {
  std::vector<std::string> order;
  std::map<std::string, double> total;
  void add(const std::string& name, double s) {
    if (!total.count(name)) order.push_back(name);
    total[name] += s;
  }
};

// Runs f(), adds its time under `stage` and `op`, returns its result.
template <class F>
VarT timed(Timers& stages, Timers& ops, const std::string& stage, const char* op, F&& f) {
  const auto t = Clock::now();
  VarT y = f();
  const double s = since(t);
  stages.add(stage, s);
  ops.add(op, s);
  return y;
}

// The EfficientNet forward of backbones/efficientnet.hpp + backbones/mbconv.hpp, op by op.
std::vector<VarT> b4_taps_timed(nn::EfficientNet<float>& net, const VarT& x, Timers& st, Timers& op) {
  VarT h = timed(st, op, "stem", "conv_stem", [&] { return net.conv_stem(x); });
  h = timed(st, op, "stem", "bn", [&] { return net.bn0(h); });
  h = timed(st, op, "stem", "act", [&] { return ag::silu(h); });
  std::vector<VarT> out;
  for (std::size_t j = 0, k = 0; k < net.taps.size(); ++j) {
    auto& b = net.blocks[j];
    const std::string s = "stage" + std::to_string(b.config.stage);
    VarT y = h;
    if (b.config.has_expand()) {
      y = timed(st, op, s, "conv_expand", [&] { return b.expand_conv(y); });
      y = timed(st, op, s, "bn", [&] { return b.bn0(y); });
      y = timed(st, op, s, "act", [&] { return ag::silu(y); });
    }
    y = timed(st, op, s, b.config.kernel == 3 ? "conv_dw3" : "conv_dw5", [&] { return b.depthwise_conv(y); });
    y = timed(st, op, s, "bn", [&] { return b.bn1(y); });
    y = timed(st, op, s, "act", [&] { return ag::silu(y); });
    y = timed(st, op, s, "se", [&] { return b.se(y); });
    y = timed(st, op, s, "conv_project", [&] { return b.project_conv(y); });
    y = timed(st, op, s, "bn", [&] { return b.bn2(y); });
    if (b.config.residual()) y = timed(st, op, s, "add", [&] { return ag::add(y, h); });
    h = y;
    if (static_cast<Index>(j) == net.taps[k]) out.push_back(h), ++k;
  }
  return out;
}

// The MobileNetV2 forward of backbones/mobilenet_v2.hpp, op by op (TF-SAME padding from the actual input).
std::vector<VarT> mobilenet_taps_timed(nn::MobileNetV2<float>& net, const VarT& x, Timers& st, Timers& op) {
  auto same = [](const nn::Conv2d<float>& c, const VarT& v) {
    const auto args = nn::same_conv_args(v.dim(2), v.dim(3), c.weight.dim(2), c.args.stride_h, c.args.groups);
    return ag::conv2d(v, c.weight, &c.bias, args);
  };
  VarT h = timed(st, op, "stem", "conv_stem", [&] { return same(net.stem, x); });
  h = timed(st, op, "stem", "act", [&] { return ag::relu6(h); });
  // stage = row of the (t, c, n, s) setting table: blocks 0 | 1-2 | 3-5 | 6-9 | 10-12 | 13-15 | 16
  static const int stage_of[17] = {0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6};
  std::vector<VarT> out;
  for (std::size_t j = 0, k = 0; k < net.taps.size(); ++j) {
    const auto& b = net.blocks[j];
    const std::string s = "stage" + std::to_string(stage_of[j]);
    VarT y = h;
    if (b.expand_ratio != 1) {
      y = timed(st, op, s, "conv_expand", [&] { return b.expand(y); });
      y = timed(st, op, s, "act", [&] { return ag::relu6(y); });
    }
    y = timed(st, op, s, "conv_dw3", [&] { return same(b.depthwise, y); });
    y = timed(st, op, s, "act", [&] { return ag::relu6(y); });
    y = timed(st, op, s, "conv_project", [&] { return b.project(y); });
    if (b.residual()) y = timed(st, op, s, "add", [&] { return ag::add(y, h); });
    h = y;
    if (static_cast<Index>(j) == net.taps[k]) out.push_back(h), ++k;
  }
  return out;
}

// The end-to-end case (--images): image files -> scores, one image at a time.
int end_to_end(const Args& a, ras::pipeline::AnyBackbone& net) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(a.images))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (static_cast<Index>(files.size()) < a.batch) {
    std::fprintf(stderr, "bench_backbone: %s holds %zu files, --batch asks for %lld\n", a.images.c_str(), files.size(),
                 static_cast<long long>(a.batch));
    return 1;
  }
  files.resize(static_cast<std::size_t>(a.batch));
  nn::RasConfig cfg;
  cfg.channels = net.neck_channels();
  nn::RasReconstruction<float> model(cfg, 333);
  model.set_training(false);
  const auto norm = ras::pipeline::input_normalization(net);
  const std::string tag = "impl=ras model=e2e-" + a.model + " batch=" + std::to_string(a.batch) +
                          " threads=" + std::to_string(a.threads);
  for (int it = 0; it < a.warmup + a.iters; ++it) {
    double check = 0;
    const auto t0 = Clock::now();
    for (const auto& f : files) {
      const auto x = ras::io::preprocess<float>(ras::io::load_image(f.string()), a.size, norm);
      const auto feats = net.neck(x);
      const auto maps = ras::model::anomaly_maps(model, feats, a.size, a.size, 1, a.threads);
      check += ras::model::image_scores(maps)[0];
    }
    const double total = since(t0);
    if (it < a.warmup) continue;
    std::printf("RESULT %s seconds=%.6f images_per_s=%.3f check=%.5f\n", tag.c_str(), total, double(a.batch) / total,
                check);
    std::fflush(stdout);
  }
  print_max_rss(tag);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  ras::Cpu::set_num_threads(a.threads);

  std::unique_ptr<ras::pipeline::AnyBackbone> net;
  if (a.model == "b4") {
    nn::EfficientNet<float> b4(nn::lukemelas_efficientnet_config("b4"));
    ras::testing::init_synthetic<float>(b4);
    net = std::make_unique<ras::pipeline::AnyBackbone>(std::move(b4));
  } else {
    nn::MobileNetV2<float> mnv2;
    const auto report = ras::io::load_state_dict(mnv2, a.weights);
    if (!report.ok()) {
      std::fprintf(stderr, "bench_backbone: %s does not match MobileNetV2 (%zu missing, %zu unexpected)\n",
                   a.weights.c_str(), report.missing.size(), report.unexpected.size());
      return 1;
    }
    net = std::make_unique<ras::pipeline::AnyBackbone>(std::move(mnv2));
  }
  net->set_chunk_size(a.chunk);
  if (!a.images.empty()) return end_to_end(a, *net);
  const auto x = ras::testing::synthetic_tensor<float, 4>("fixture.input.224", {a.batch, 3, a.size, a.size}, -2.0, 2.0);
  const std::string tag = "impl=ras model=" + a.model + " batch=" + std::to_string(a.batch) +
                          " threads=" + std::to_string(a.threads);

  TensorT last;
  for (int it = 0; it < a.warmup + a.iters; ++it) {
    const auto t0 = Clock::now();
    last = net->neck(x);
    const double total = since(t0);
    if (it < a.warmup) continue;
    std::printf("RESULT %s seconds=%.6f images_per_s=%.3f check=%.5f shape=%s\n", tag.c_str(), total,
                double(a.batch) / total, double(last.data()[last.numel() / 2]), ras::shape_string(last.shape()).c_str());
    std::fflush(stdout);
  }

  if (a.sections) {
    Timers stages, ops;
    double max_diff = 0;
    ag::InferenceMode no_tape;
    const Index out_per = last.numel() / a.batch;
    const Index passes = (8 + a.batch - 1) / a.batch;
    const auto t0 = Clock::now();
    for (Index pass = 0; pass < passes; ++pass) {
      for (Index n0 = 0; n0 < a.batch; n0 += a.chunk) {
        const Index n = std::min(a.chunk, a.batch - n0);
        const VarT xv(x.slice_rows(n0, n));
        auto taps = net->visit([&](auto& b) {
          if constexpr (std::is_same_v<std::decay_t<decltype(b)>, nn::EfficientNet<float>>)
            return b4_taps_timed(b, xv, stages, ops);
          else
            return mobilenet_taps_timed(b, xv, stages, ops);
        });
        const auto t = Clock::now();
        auto y = nn::mfcn_neck(taps);
        const double s = since(t);
        stages.add("neck", s), ops.add("neck", s);
        const float* yp = y.value().data();
        for (Index i = 0; i < n * out_per; ++i)
          max_diff = std::max(max_diff, double(std::fabs(yp[i] - last.data()[n0 * out_per + i])));
      }
    }
    const double total = since(t0);
    const long images = static_cast<long>(passes * a.batch);
    for (const auto& name : stages.order)
      std::printf("SECTION %s kind=stage name=%s images=%ld seconds=%.6f\n", tag.c_str(), name.c_str(), images,
                  stages.total[name]);
    for (const auto& name : ops.order)
      std::printf("SECTION %s kind=op name=%s images=%ld seconds=%.6f\n", tag.c_str(), name.c_str(), images,
                  ops.total[name]);
    std::printf("SECTION %s kind=total name=sectioned images=%ld seconds=%.6f max_diff_vs_neck=%.3g\n", tag.c_str(),
                images, total, max_diff);
  }
  print_max_rss(tag);
  return 0;
}
