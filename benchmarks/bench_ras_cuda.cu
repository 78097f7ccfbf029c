// benchmarks/bench_ras_cuda.cu — the RAS reconstruction network on ras::Cuda and on ras::Cpu, same
// step as bench_ras.cpp (RAS_WITH_CUDA builds; run by benchmarks/run_gpu_checks.sh):
//   train: one step at batch B = forward with jitter + MSE + backward + clip_grad_norm(0.1) + AdamW(7e-4)
//   infer: reconstruction + anomaly map (L2 over channels, bilinear to 16x the grid), images/s
//   bench_ras_cuda [--device cuda|cpu] [--task train|infer] [--channels 272] [--batch 64] [--iters 5] [--warmup 2]
// Prints one "RESULT impl=ras device=... task=... seconds=S images_per_s=R" line per timed iteration.
// The clock stops after Cuda::synchronize() (train: loss.item() already waits; infer: the map is waited for).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "ras/autograd/ops_reduce.hpp"
#include "ras/model/ras_model.hpp"
#include "ras/model/scoring.hpp"
#include "ras/nn/optim.hpp"
#include "ras/cuda.cuh"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Args {
  std::string device = "cuda", task = "train";
  ras::Index channels = 272, batch = 64;
  int iters = 5, warmup = 2;
};

template <class D>
int run(const Args& a) {
  namespace ag = ras::autograd;
  namespace nn = ras::nn;
  nn::RasConfig cfg;
  cfg.channels = a.channels;
  nn::RasReconstruction<float, D> model(cfg, 333);
  ras::Rng rng(1);
  ras::Tensor<float, 4> host({a.batch, cfg.channels, cfg.feature_h, cfg.feature_w});
  ras::fill_normal(host, rng);
  const auto feats = host.to<D>();
  const std::string tag = "impl=ras device=" + a.device + " task=" + a.task + " channels=" +
                          std::to_string(a.channels) + " batch=" + std::to_string(a.batch);
  if (a.task == "train") {
    model.set_training(true);
    auto params = nn::named_parameters<float>(model);
    ras::optim::AdamWOptions o;
    o.lr = 7e-4;
    o.weight_decay = 1e-4;
    ras::optim::AdamW<float, D> opt(params, o);
    const ag::Var<float, 4, D> target(feats.clone());
    for (int it = 0; it < a.warmup + a.iters; ++it) {
      D::synchronize();
      const auto t0 = Clock::now();
      nn::zero_grad(model);
      auto rec = model(feats, &rng);
      auto loss = ag::mse_loss(rec, target);
      ag::backward(loss);
      ras::optim::clip_grad_norm<float, D>(params, 0.1);
      opt.step();
      const double l = loss.value().item();
      D::synchronize();
      const double s = since(t0);
      if (it >= a.warmup)
        std::printf("RESULT %s seconds=%.6f images_per_s=%.2f loss=%.5f\n", tag.c_str(), s, double(a.batch) / s, l);
    }
  } else {
    model.set_training(false);
    ag::InferenceMode no_grad;
    for (int it = 0; it < a.warmup + a.iters; ++it) {
      D::synchronize();
      const auto t0 = Clock::now();
      auto rec = model(feats);
      const auto grid = ras::model::anomaly_map_grid(rec.value(), feats);
      const auto map = ras::model::upsample_map(grid, 16 * cfg.feature_h, 16 * cfg.feature_w);
      D::synchronize();
      const double s = since(t0);
      if (it >= a.warmup)
        std::printf("RESULT %s seconds=%.6f images_per_s=%.2f\n", tag.c_str(), s, double(a.batch) / s);
    }
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_ras_cuda: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--device")) a.device = next();
    else if (!std::strcmp(argv[i], "--task")) a.task = next();
    else if (!std::strcmp(argv[i], "--channels")) a.channels = std::atoll(next());
    else if (!std::strcmp(argv[i], "--batch")) a.batch = std::atoll(next());
    else if (!std::strcmp(argv[i], "--iters")) a.iters = std::atoi(next());
    else if (!std::strcmp(argv[i], "--warmup")) a.warmup = std::atoi(next());
    else {
      std::fprintf(stderr, "usage: bench_ras_cuda [--device cuda|cpu] [--task train|infer] [--channels C] "
                           "[--batch B] [--iters K] [--warmup W]\n");
      return 2;
    }
  }
  if ((a.device != "cuda" && a.device != "cpu") || (a.task != "train" && a.task != "infer")) {
    std::fprintf(stderr, "bench_ras_cuda: bad arguments\n");
    return 2;
  }
  try {
    if (a.device == "cpu") return run<ras::Cpu>(a);
    ras::require_cuda_device();
    std::printf("device: %s\n", ras::cuda_device_name().c_str());
    return run<ras::Cuda>(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_ras_cuda: %s\n", e.what());
    return 1;
  }
}
