// ras/testing/thread_comm.hpp — ras::dist::Communicator for ranks that are threads of one process
// (tests of the data-parallel code without MPI): ThreadGroup(n) holds the mailboxes, comm(r) is
// rank r's communicator; run_ranks(n, fn) runs fn(comm, rank) on n threads and rethrows the first
// exception. Sends are buffered (never block); receives wait for a matching (from, tag) message.
#pragma once

#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "ras/dist/communicator.hpp"

namespace ras::testing {

class ThreadGroup {
 public:
  explicit ThreadGroup(int n) : n_(n) {
    for (int r = 0; r < n; ++r) comms_.push_back(std::make_unique<Comm>(*this, r));
  }
  dist::Communicator& comm(int r) { return *comms_[static_cast<std::size_t>(r)]; }
  int size() const { return n_; }

 private:
  static constexpr int tag_broadcast = -1;
  using Key = std::tuple<int, int, int>;  // from, to, tag

  class Comm final : public dist::Communicator {
   public:
    Comm(ThreadGroup& g, int r) : g_(g), r_(r) {}
    int rank() const override { return r_; }
    int size() const override { return g_.n_; }
    void barrier() override {
      std::unique_lock<std::mutex> lock(g_.mutex_);
      const long gen = g_.barrier_gen_;
      if (++g_.barrier_count_ == g_.n_) {
        g_.barrier_count_ = 0;
        ++g_.barrier_gen_;
        g_.cv_.notify_all();
      } else {
        g_.cv_.wait(lock, [&] { return g_.barrier_gen_ != gen; });
      }
    }
    void send(const void* data, std::size_t bytes, int to, int tag) override {
      RAS_CHECK(to >= 0 && to < g_.n_ && to != r_, "ThreadGroup: rank ", r_, " cannot send to rank ", to);
      std::vector<char> msg(bytes);
      if (bytes) std::memcpy(msg.data(), data, bytes);
      std::lock_guard<std::mutex> lock(g_.mutex_);
      g_.boxes_[{r_, to, tag}].push_back(std::move(msg));
      g_.cv_.notify_all();
    }
    void recv(void* data, std::size_t bytes, int from, int tag) override {
      RAS_CHECK(from >= 0 && from < g_.n_ && from != r_, "ThreadGroup: rank ", r_, " cannot receive from rank ", from);
      std::unique_lock<std::mutex> lock(g_.mutex_);
      auto& box = g_.boxes_[{from, r_, tag}];
      g_.cv_.wait(lock, [&] { return !box.empty(); });
      std::vector<char> msg = std::move(box.front());
      box.pop_front();
      RAS_CHECK(msg.size() == bytes, "ThreadGroup: rank ", r_, " expected ", bytes, " bytes from rank ", from,
                " but received ", msg.size());
      if (bytes) std::memcpy(data, msg.data(), bytes);
    }
    void broadcast(void* data, std::size_t bytes, int root_rank) override {
      if (r_ == root_rank) {
        for (int q = 0; q < g_.n_; ++q)
          if (q != r_) send(data, bytes, q, tag_broadcast);
      } else {
        recv(data, bytes, root_rank, tag_broadcast);
      }
    }

   private:
    ThreadGroup& g_;
    int r_;
  };

  int n_;
  std::vector<std::unique_ptr<Comm>> comms_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::map<Key, std::deque<std::vector<char>>> boxes_;
  int barrier_count_ = 0;
  long barrier_gen_ = 0;
};

// Runs fn(comm, rank) for ranks 0..n-1 on n threads; rethrows the first exception.
template <class F>
inline void run_ranks(int n, F&& fn) {
  ThreadGroup group(n);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      try {
        fn(group.comm(r), r);
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace ras::testing
