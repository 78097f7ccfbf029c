// ras/dist/communicator.hpp — the few collective operations data-parallel training, feature
// extraction and evaluation need from a group of processes ("ranks"), as an abstract interface, so
// the core headers stay free of MPI: ras/mpi/communicator.hpp implements it with MPI (only an MPI
// build includes it), ras/testing/thread_comm.hpp with threads (tests), and SingleProcess is the
// trivial group of one. A null Communicator* everywhere means "one process, as before".
//
// Every operation is blocking; point-to-point messages between a pair of ranks arrive in the order
// they were sent (per tag). Sizes are in bytes and must match on both sides.
#pragma once

#include <cstddef>
#include <cstring>
#include <numeric>
#include <vector>

#include "ras/config.hpp"
#include "ras/shape.hpp"

namespace ras::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void barrier() = 0;
  virtual void send(const void* data, std::size_t bytes, int to, int tag) = 0;
  virtual void recv(void* data, std::size_t bytes, int from, int tag) = 0;
  // root's `bytes` at `data` are copied into `data` on every other rank
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;

  bool root() const { return rank() == 0; }

  // Every rank's block (bytes[r] from rank r, `mine` on this rank) concatenated in rank order into
  // `all` (sum of bytes) on `root` only (all may be null elsewhere). Point-to-point, no size limit.
  void gatherv(const void* mine, void* all, const std::vector<std::size_t>& bytes, int root_rank = 0) {
    RAS_CHECK(static_cast<int>(bytes.size()) == size(), "Communicator::gatherv: expected ", size(),
              " block sizes but got ", bytes.size());
    if (rank() != root_rank) {
      if (bytes[static_cast<std::size_t>(rank())] > 0) send(mine, bytes[static_cast<std::size_t>(rank())], root_rank, tag_gather);
      return;
    }
    std::size_t offset = 0;
    for (int r = 0; r < size(); ++r) {
      const std::size_t n = bytes[static_cast<std::size_t>(r)];
      char* dst = static_cast<char*>(all) + offset;
      if (n > 0) {
        if (r == root_rank) std::memcpy(dst, mine, n);
        else recv(dst, n, r, tag_gather);
      }
      offset += n;
    }
  }
  // gatherv onto rank 0, then broadcast: every rank gets `all`.
  void allgatherv(const void* mine, void* all, const std::vector<std::size_t>& bytes) {
    gatherv(mine, all, bytes, 0);
    broadcast(all, std::accumulate(bytes.begin(), bytes.end(), std::size_t(0)), 0);
  }
  // True on every rank when `flag` is true on any rank.
  bool any(bool flag) {
    std::vector<char> all(static_cast<std::size_t>(size()));
    const char mine = flag ? 1 : 0;
    allgatherv(&mine, all.data(), std::vector<std::size_t>(static_cast<std::size_t>(size()), 1));
    for (char c : all)
      if (c) return true;
    return false;
  }

  static constexpr int tag_gather = 101;
  static constexpr int tag_chain = 102;
};

// The group of one process: every collective is a copy or nothing.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void barrier() override {}
  void send(const void*, std::size_t, int to, int) override {
    ::ras::detail::throw_error("SingleProcess::send: no rank ", to, " in a group of one");
  }
  void recv(void*, std::size_t, int from, int) override {
    ::ras::detail::throw_error("SingleProcess::recv: no rank ", from, " in a group of one");
  }
  void broadcast(void*, std::size_t, int) override {}
};

// True when comm spans more than one process.
inline bool distributed(const Communicator* comm) { return comm != nullptr && comm->size() > 1; }

// The contiguous block [begin, end) of n items that rank r of `ranks` owns: [floor(r n / R),
// floor((r + 1) n / R)); the blocks of ranks 0..R-1 tile [0, n) in order (some may be empty).
struct Block {
  Index begin = 0, end = 0;
  Index size() const { return end - begin; }
};
inline Block block_of(Index n, int r, int ranks) {
  RAS_CHECK(ranks >= 1 && r >= 0 && r < ranks, "block_of: rank ", r, " of ", ranks, " ranks");
  RAS_CHECK(n >= 0, "block_of: expected n >= 0 but got ", n);
  return {n * r / ranks, n * (r + 1) / ranks};
}

}  // namespace ras::dist
