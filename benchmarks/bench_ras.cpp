// benchmarks/bench_ras.cpp — the RAS reconstruction network (model/ras_model.hpp) on cached features,
// the C++ half of benchmarks/run_bench_ras.sh (benchmarks/torch_ras.py is the PyTorch half):
//   train: one step at batch B = forward with jitter + MSE + backward + clip_grad_norm(0.1) + AdamW(7e-4)
//   infer: reconstruction + anomaly map (L2 over channels, bilinear align_corners=True to 16x the grid)
//   bench_ras --task train|infer [--channels 272] [--batch 64] [--threads 1] [--iters 1] [--warmup 1]
//             [--sections]
// Prints one "RESULT impl=ras ... seconds=S" line per timed iteration and, with --sections, one
// "SECTION ... name=N seconds=S" line per part of the step (forward, loss, backward, clip, step, map).
// Features are random N(0, 1) tensors of shape (B, C_org, 14, 14): the cost does not depend on the values.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ras/autograd/ops_reduce.hpp"
#include "ras/device.hpp"
#include "ras/model/scoring.hpp"
#include "ras/nn/optim.hpp"
#include "ras/model/ras_model.hpp"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Args {
  std::string task = "train";
  ras::Index channels = 272, batch = 64;
  int threads = 1, iters = 1, warmup = 1;
  bool sections = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_ras: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--task")) a.task = next();
    else if (!std::strcmp(argv[i], "--channels")) a.channels = std::atoll(next());
    else if (!std::strcmp(argv[i], "--batch")) a.batch = std::atoll(next());
    else if (!std::strcmp(argv[i], "--threads")) a.threads = std::atoi(next());
    else if (!std::strcmp(argv[i], "--iters")) a.iters = std::atoi(next());
    else if (!std::strcmp(argv[i], "--warmup")) a.warmup = std::atoi(next());
    else if (!std::strcmp(argv[i], "--sections")) a.sections = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_ras --task train|infer [--channels C] [--batch B] [--threads T] [--iters K] "
                   "[--warmup W] [--sections]\n");
      std::exit(2);
    }
  }
  if ((a.task != "train" && a.task != "infer") || a.channels < 1 || a.batch < 1 || a.threads < 1 || a.iters < 1) {
    std::fprintf(stderr, "bench_ras: bad arguments\n");
    std::exit(2);
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  namespace ag = ras::autograd;
  namespace nn = ras::nn;
  const Args a = parse(argc, argv);
  ras::Cpu::set_num_threads(a.threads);
  nn::RasConfig cfg;
  cfg.channels = a.channels;
  nn::RasReconstruction<float> model(cfg, 333);
  ras::Rng rng(1);
  auto feats = ras::Tensor<float, 4>::uninitialized({a.batch, cfg.channels, cfg.feature_h, cfg.feature_w});
  for (ras::Index i = 0; i < feats.numel(); ++i) feats.data()[i] = static_cast<float>(rng.normal());
  const std::string tag = "impl=ras task=" + a.task + " channels=" + std::to_string(a.channels) +
                          " batch=" + std::to_string(a.batch) + " threads=" + std::to_string(a.threads);
  auto section = [&](const char* name, double s) {
    if (a.sections) std::printf("SECTION %s name=%s seconds=%.6f\n", tag.c_str(), name, s);
  };

  if (a.task == "train") {
    model.set_training(true);
    auto params = nn::named_parameters<float>(model);
    ras::optim::AdamWOptions o;
    o.lr = 7e-4;
    o.weight_decay = 1e-4;
    ras::optim::AdamW<float> opt(params, o);
    const ag::Var<float, 4> target(feats.clone());
    for (int it = 0; it < a.warmup + a.iters; ++it) {
      const auto t0 = Clock::now();
      nn::zero_grad(model);
      auto t = Clock::now();
      auto rec = model(feats, &rng);
      const double t_forward = since(t);
      t = Clock::now();
      auto loss = ag::mse_loss(rec, target);
      const double t_loss = since(t);
      t = Clock::now();
      ag::backward(loss);
      const double t_backward = since(t);
      t = Clock::now();
      ras::optim::clip_grad_norm(params, 0.1);
      const double t_clip = since(t);
      t = Clock::now();
      opt.step();
      const double t_step = since(t);
      const double total = since(t0);
      if (it < a.warmup) continue;
      section("forward", t_forward);
      section("loss", t_loss);
      section("backward", t_backward);
      section("clip", t_clip);
      section("step", t_step);
      std::printf("RESULT %s seconds=%.6f loss=%.5f\n", tag.c_str(), total, double(loss.value().data()[0]));
      std::fflush(stdout);
    }
  } else {
    model.set_training(false);
    ag::InferenceMode no_grad;
    for (int it = 0; it < a.warmup + a.iters; ++it) {
      const auto t0 = Clock::now();
      auto rec = model(feats);
      const double t_forward = since(t0);
      auto t = Clock::now();
      const auto grid = ras::model::anomaly_map_grid(rec.value(), feats);
      const auto map = ras::model::upsample_map(grid, 16 * cfg.feature_h, 16 * cfg.feature_w);
      const double t_map = since(t);
      const double total = since(t0);
      if (it < a.warmup) continue;
      section("forward", t_forward);
      section("map", t_map);
      std::printf("RESULT %s seconds=%.6f images_per_s=%.3f check=%.4f\n", tag.c_str(), total,
                  double(a.batch) / total, double(map.data()[map.numel() / 2]));
      std::fflush(stdout);
    }
  }
  return 0;
}
