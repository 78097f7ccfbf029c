// benchmarks/bench_ras.cpp — the RAS reconstruction network (model/ras_model.hpp) on cached features,
// the C++ half of benchmarks/run_bench_ras.sh (benchmarks/torch_ras.py is the PyTorch half):
//   train: one step at batch B = forward with jitter + MSE + backward + clip_grad_norm(0.1) + AdamW(7e-4),
//          as train::Trainer::train_step runs it: parallel over the batch in micro-batches of --micro-batch
//          samples (train/batch_parallel.hpp), one worker per thread with single-threaded kernels
//   infer: reconstruction + anomaly map (L2 over channels, bilinear align_corners=True to 16x the grid),
//          as pipeline::Detector runs it: images in chunks of --chunk over the threads (model/inference.hpp)
//   bench_ras --task train|infer [--channels 272] [--batch 64] [--threads 1] [--iters 1] [--warmup 1]
//             [--micro-batch 8] [--chunk 4] [--sections]
// Prints one "RESULT impl=ras ... seconds=S" line per timed iteration, with --sections one
// "SECTION ... name=N seconds=S" line per part of the step (forward_backward, clip, step), and at the end
// "MAXRSS impl=ras ... mb=M", the process's peak resident set size (getrusage ru_maxrss).
// Features are random N(0, 1) tensors of shape (B, C_org, 14, 14): the cost does not depend on the values.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ras/autograd/ops_reduce.hpp"
#include "ras/device.hpp"
#include "ras/model/inference.hpp"
#include "ras/model/ras_model.hpp"
#include "ras/nn/optim.hpp"
#include "ras/train/batch_parallel.hpp"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Args {
  std::string task = "train";
  ras::Index channels = 272, batch = 64;
  ras::Index micro_batch = 8, chunk = 4;
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
    else if (!std::strcmp(argv[i], "--micro-batch")) a.micro_batch = std::atoll(next());
    else if (!std::strcmp(argv[i], "--chunk")) a.chunk = std::atoll(next());
    else if (!std::strcmp(argv[i], "--sections")) a.sections = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_ras --task train|infer [--channels C] [--batch B] [--threads T] [--iters K] "
                   "[--warmup W] [--micro-batch M] [--chunk K] [--sections]\n");
      std::exit(2);
    }
  }
  if ((a.task != "train" && a.task != "infer") || a.channels < 1 || a.batch < 1 || a.threads < 1 || a.iters < 1 ||
      a.micro_batch < 1 || a.chunk < 1) {
    std::fprintf(stderr, "bench_ras: bad arguments\n");
    std::exit(2);
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
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
    ras::train::BatchParallel<float> parallel(model, a.micro_batch, a.threads);
    std::vector<ras::Index> idx(static_cast<std::size_t>(a.batch));
    for (ras::Index i = 0; i < a.batch; ++i) idx[static_cast<std::size_t>(i)] = i;
    for (int it = 0; it < a.warmup + a.iters; ++it) {
      const auto t0 = Clock::now();
      nn::zero_grad(model);
      auto t = Clock::now();
      const auto jitter = model.draw_jitter(rng, a.batch);
      const double loss = parallel.forward_backward(feats, idx, jitter.view());
      const double t_fb = since(t);
      t = Clock::now();
      ras::optim::clip_grad_norm(params, 0.1);
      const double t_clip = since(t);
      t = Clock::now();
      opt.step();
      const double t_step = since(t);
      const double total = since(t0);
      if (it < a.warmup) continue;
      section("forward_backward", t_fb);
      section("clip", t_clip);
      section("step", t_step);
      std::printf("RESULT %s seconds=%.6f loss=%.5f workers=%d\n", tag.c_str(), total, loss, parallel.last_workers());
      std::fflush(stdout);
    }
  } else {
    model.set_training(false);
    for (int it = 0; it < a.warmup + a.iters; ++it) {
      const auto t0 = Clock::now();
      const auto map = ras::model::anomaly_maps(model, feats, 16 * cfg.feature_h, 16 * cfg.feature_w, a.chunk, a.threads);
      const double total = since(t0);
      if (it < a.warmup) continue;
      std::printf("RESULT %s seconds=%.6f images_per_s=%.3f check=%.4f\n", tag.c_str(), total,
                  double(a.batch) / total, double(map.tensor().data()[(8 * cfg.feature_h) * (16 * cfg.feature_w) + 8 * cfg.feature_w]));
      std::fflush(stdout);
    }
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf("MAXRSS %s mb=%.1f\n", tag.c_str(), double(usage.ru_maxrss) / 1024.0);
  return 0;
}
