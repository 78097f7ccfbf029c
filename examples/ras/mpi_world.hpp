// examples/ras/mpi_world.hpp — the `ras` program under an MPI launcher (mpirun, srun): MPI starts
// only when a launcher started this process (its environment says so) and the program was built
// with -DRAS_WITH_MPI=ON; otherwise world() is null and everything runs as one process, as before.
// With more than one rank: rank 0 alone writes files and standard output (the other ranks' stdout
// goes to /dev/null), errors name the rank and abort the whole job (MPI_Abort), and a SIGTERM (what
// mpirun sends every rank when one has died or the job is cancelled) ends the rank at once with a
// message saying so.
#pragma once

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ras/dist/communicator.hpp"
#ifdef RAS_WITH_MPI
#include "ras/mpi/communicator.hpp"
#endif

namespace ras_cli {

namespace mpi_detail {
inline std::unique_ptr<ras::dist::Communicator>& world_ptr() {
  static std::unique_ptr<ras::dist::Communicator> w;
  return w;
}
inline char* sigterm_message() {
  static char text[256] = "";
  return text;
}
extern "C" inline void on_sigterm(int) {
  const char* m = sigterm_message();
  const ssize_t ignored = ::write(2, m, std::strlen(m));
  (void)ignored;
  ::_exit(143);
}
}  // namespace mpi_detail

// The ranks of this job (null: one process, no MPI).
inline ras::dist::Communicator* world() { return mpi_detail::world_ptr().get(); }
// True on the rank that writes files and prints (rank 0, or the only process).
inline bool is_root() { return world() == nullptr || world()->root(); }
// "rank R of N: " when there are several ranks, "" otherwise.
inline std::string rank_prefix() {
  if (!ras::dist::distributed(world())) return "";
  return "rank " + std::to_string(world()->rank()) + " of " + std::to_string(world()->size()) + ": ";
}

// The sum of `v` over all ranks (v itself for one process), on every rank.
inline long sum_over_ranks(long v) {
  if (!ras::dist::distributed(world())) return v;
  std::vector<long> all(static_cast<std::size_t>(world()->size()));
  world()->allgatherv(&v, all.data(), std::vector<std::size_t>(all.size(), sizeof(long)));
  long sum = 0;
  for (long x : all) sum += x;
  return sum;
}

// Started by an MPI launcher: Open MPI (OMPI_COMM_WORLD_SIZE), PMIx (PMIX_RANK) or PMI/PMI2
// (PMI_SIZE; Slurm's srun, MPICH's hydra).
inline bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (const char* e = std::getenv(v); e && *e) return true;
  return false;
}

// First thing in main: starts MPI when launched by mpirun/srun (MPI builds).
inline void mpi_start(int* argc, char*** argv) {
#ifdef RAS_WITH_MPI
  if (!launched_by_mpi()) return;
  MPI_Init(argc, argv);
  mpi_detail::world_ptr() = std::make_unique<ras::mpi::MpiCommunicator>(MPI_COMM_WORLD);
  auto* w = world();
  if (w->size() > 1) {
    std::snprintf(mpi_detail::sigterm_message(), 256,
                  "ras: rank %d of %d: terminated by SIGTERM: the job is ending (another rank failed or the job "
                  "was cancelled)\n", w->rank(), w->size());
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = mpi_detail::on_sigterm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    if (!w->root()) {
      std::fflush(stdout);
      if (!std::freopen("/dev/null", "w", stdout)) std::fprintf(stderr, "ras: %scannot silence stdout\n", rank_prefix().c_str());
    }
  }
#else
  (void)argc, (void)argv;
  if (const char* n = std::getenv("OMPI_COMM_WORLD_SIZE"); n && std::atoi(n) > 1)
    std::fprintf(stderr, "ras: warning: started by mpirun with %s ranks, but this ras was built without MPI "
                 "(-DRAS_WITH_MPI=ON): every rank runs the whole command on its own\n", n);
#endif
}

// Normal end: MPI_Finalize (every rank).
inline void mpi_finish() {
#ifdef RAS_WITH_MPI
  if (world()) {
    mpi_detail::world_ptr().reset();
    MPI_Finalize();
    // the work is done: when mpirun ends this process now (another rank exited non-zero first), quietly
    std::signal(SIGTERM, SIG_DFL);
  }
#endif
}

// After an error on this rank (message already printed): ends the whole job when there are
// several ranks (the others would wait for this one forever); returns otherwise.
inline void mpi_abort_job(int code) {
#ifdef RAS_WITH_MPI
  if (ras::dist::distributed(world())) {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
  }
#else
  (void)code;
#endif
}

}  // namespace ras_cli
