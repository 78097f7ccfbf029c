// ras/parallel.hpp — coarse-grained threading: independent tasks (images, micro-batches of a training
// step) spread over worker threads, each task running the kernels single-threaded. On a busy host
// this is robust where per-op threading is not: a worker whose core is taken simply finishes fewer
// tasks, instead of every op waiting at a barrier for it.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>

#include "ras/config.hpp"
#include "ras/device.hpp"

namespace ras {

// The number of workers parallel_tasks uses for n tasks and a requested thread count
// (threads <= 0: Cpu::num_threads()); never more than the machine's cores (clamped with a warning).
inline int parallel_workers(Index n, int threads) {
  if (threads <= 0) threads = Cpu::num_threads();
  threads = Cpu::clamp_threads(threads, "threads");
  return static_cast<int>(std::max<Index>(1, std::min<Index>(threads, n)));
}

// Runs fn(task, worker) for every task in [0, n) on parallel_workers(n, threads) workers, worker in
// [0, workers). Tasks are handed out one at a time in increasing order to whichever worker is free
// (dynamic scheduling). Inside fn the kernels run single-threaded (the worker's OpenMP thread count
// is set to 1; the caller's setting is untouched). Results must not depend on which worker runs a
// task: give each worker its own scratch state (indexed by `worker`) and each task its own output.
// The first exception a task throws is rethrown here once every worker has stopped; tasks not yet
// started by then are skipped.
template <class F>
inline void parallel_tasks(Index n, int threads, F&& fn) {
  if (n <= 0) return;
  const int workers = parallel_workers(n, threads);
  std::exception_ptr error;
  std::mutex mutex;
  std::atomic<bool> failed{false};
  auto run = [&](Index task, int worker) {
    if (failed.load(std::memory_order_relaxed)) return;
    try {
      fn(task, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
      failed.store(true);
    }
  };
#if defined(_OPENMP)
#pragma omp parallel num_threads(workers)
  {
    omp_set_num_threads(1);  // this implicit task's ICV only: kernels inside run on one thread
    const int worker = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
    for (Index t = 0; t < n; ++t) run(t, worker);
  }
#else
  (void)workers;
  for (Index t = 0; t < n; ++t) run(t, 0);
#endif
  if (error) std::rethrow_exception(error);
}

}  // namespace ras
