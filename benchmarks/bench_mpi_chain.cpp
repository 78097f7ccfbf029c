// benchmarks/bench_mpi_chain.cpp — the gradient sum of data-parallel training over MPI ranks
// (ras/dist/ordered_sum.hpp) on its own: P floats (default 6,000,000, the RAS model's parameters),
// `terms` micro-batch gradients per rank, timed over `reps` calls; prints the time per call and the
// bytes rank 0 / the last rank send and receive. See docs/benchmarks.md.
//   mpirun -np 2 bench_mpi_chain [P] [terms per rank] [reps] [chunk]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "ras/dist/ordered_sum.hpp"
#include "ras/mpi/communicator.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  {
    ras::mpi::MpiCommunicator comm;
    const ras::Index P = argc > 1 ? std::atol(argv[1]) : 6000000;
    const int terms_per_rank = argc > 2 ? std::atoi(argv[2]) : 4;
    const int reps = argc > 3 ? std::atoi(argv[3]) : 10;
    const ras::Index chunk = argc > 4 ? std::atol(argv[4]) : ras::Index(1) << 20;
    const ras::Index segments[] = {0, P};
    std::vector<std::vector<float>> g(static_cast<std::size_t>(terms_per_rank), std::vector<float>(static_cast<std::size_t>(P), 1e-3f));
    const char present = 1;
    std::vector<ras::dist::SumTerm<float>> terms;
    for (auto& t : g) terms.push_back({t.data(), &present});
    std::vector<float> acc(static_cast<std::size_t>(P), 0.f);
    char acc_present = 1;
    comm.barrier();
    double best = 1e30, sum = 0;
    for (int r = 0; r < reps; ++r) {
      comm.barrier();
      const auto t0 = std::chrono::steady_clock::now();
      ras::dist::ordered_chain_sum<float>(comm, segments, acc.data(), &acc_present, terms, chunk);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::min(best, s), sum += s;
    }
    if (comm.root()) {
      const double mb = double(P) * 4 / 1e6;
      std::printf("ranks %d, %lld floats (%.1f MB), %d terms per rank, chunk %lld floats: best %.1f ms, mean %.1f ms "
                  "per sum; chain: each of the %d links carries %.1f MB, broadcast %.1f MB to each of %d ranks\n",
                  comm.size(), static_cast<long long>(P), mb, terms_per_rank, static_cast<long long>(chunk), best * 1e3,
                  sum / reps * 1e3, comm.size() - 1, mb, mb, comm.size() - 1);
    }
  }
  MPI_Finalize();
  return 0;
}
