// benchmarks/bench_gemm.cpp — GFLOP/s of ras::kernels::gemm / gemm_batched on the shapes the RAS
// model and the backbones use, and the share of this machine's FP32 peak.
//   bench_gemm [--threads N] [--repeats R]
// Peak = threads x (FMA GFLOP/s one core measured by a register-only kernel, see peak.hpp); the
// nominal peak (cpuinfo GHz x FLOPs/cycle x threads) is printed too. Each shape is timed R times
// (after one warm-up) and best-of-R and median are reported: the machine is shared and noisy.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "peak.hpp"
#include "ras/device.hpp"
#include "ras/kernels/gemm.hpp"
#include "ras/random.hpp"
#include "ras/tensor.hpp"

namespace {

struct Shape {
  const char* what;
  ras::Index batch, m, k, n;
  bool trans_b;  // weights stored (out, in) as in nn.Linear
};

double seconds_of(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  int threads = ras::Cpu::num_threads(), repeats = 7;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = std::atoi(argv[++i]);
    else {
      std::printf("usage: bench_gemm [--threads N] [--repeats R]\n");
      return 2;
    }
  }
  ras::Cpu::set_num_threads(threads);
  const double core_peak = ras_bench::measured_fma_gflops_one_thread();
  const double peak = core_peak * threads;
  const double nominal = ras_bench::cpuinfo_ghz() * ras_bench::flops_per_cycle() * threads;
  const double bf16_dot = ras_bench::measured_bf16_dot_gflops_one_thread();
  if (bf16_dot > 0)
    std::printf("AVX512_BF16 vdpbf16ps: %.1f GFLOP/s per core (%.2fx the FP32 FMA peak; a bf16 GEMM pays off only "
                "well above 1x)\n",
                bf16_dot, bf16_dot / core_peak);
  std::printf("threads %d | measured FMA peak %.1f GFLOP/s (%.1f per core) | nominal %.1f GFLOP/s "
              "(%.3f GHz x %d FLOP/cycle x %d)\n",
              threads, peak, core_peak, nominal, ras_bench::cpuinfo_ghz(), ras_bench::flops_per_cycle(),
              threads);

  const std::vector<Shape> shapes = {
      {"attention in_proj: 196x256 by 256x768, batch 64", 64, 196, 256, 768, true},
      {"FFN linear2: 196x1024 by 1024x256 (one image)", 1, 196, 1024, 256, true},
      {"FFN linear2: batch 64 folded, 12544x1024 by 1024x256", 1, 64 * 196, 1024, 256, true},
      {"1x1 conv: 12544x144 by 144x24", 1, 12544, 144, 24, true},
  };
  ras::Rng rng(1);
  std::printf("%-58s %10s %10s %8s %8s\n", "shape", "best GF/s", "median", "% peak", "best ms");
  for (const auto& s : shapes) {
    auto a = ras::Tensor<float, 3>::uninitialized({s.batch, s.m, s.k});
    auto b = ras::Tensor<float, 2>::uninitialized({s.n, s.k});
    auto c = ras::Tensor<float, 3>::uninitialized({s.batch, s.m, s.n});
    ras::fill_uniform(a, rng, -1, 1);
    ras::fill_uniform(b, rng, -1, 1);
    auto run = [&] {
      ras::kernels::gemm_batched<float>(false, s.trans_b, s.batch, s.m, s.n, s.k, 1.0f, a.data(), s.k,
                                        s.m * s.k, b.data(), s.k, 0, 0.0f, c.data(), s.n, s.m * s.n);
    };
    run();
    std::vector<double> times;
    for (int r = 0; r < repeats; ++r) times.push_back(seconds_of(run));
    std::sort(times.begin(), times.end());
    const double flops = 2.0 * s.batch * s.m * s.k * s.n;
    const double best = flops / times.front() / 1e9, median = flops / times[times.size() / 2] / 1e9;
    std::printf("%-58s %10.1f %10.1f %7.1f%% %8.2f\n", s.what, best, median, 100 * best / peak,
                times.front() * 1e3);
  }
  return 0;
}
