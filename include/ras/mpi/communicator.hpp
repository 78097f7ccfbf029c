// ras/mpi/communicator.hpp — ras::dist::Communicator over MPI (MPI_COMM_WORLD or any communicator).
// Only an MPI build (-DRAS_WITH_MPI=ON, target ras::mpi) includes this header; the core never does.
// Messages larger than 1 GiB are split (MPI counts are int). Errors come back as ras::Error (the
// communicator's error handler is set to MPI_ERRORS_RETURN), naming the operation and the peer.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <string>

#include "ras/dist/communicator.hpp"

namespace ras::mpi {

class MpiCommunicator final : public dist::Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler", -1);
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank", -1);
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size", -1);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  MPI_Comm handle() const { return comm_; }

  void barrier() override { check(MPI_Barrier(comm_), "MPI_Barrier", -1); }

  void send(const void* data, std::size_t bytes, int to, int tag) override {
    const char* p = static_cast<const char*>(data);
    do {
      const int n = piece(bytes);
      check(MPI_Send(p, n, MPI_BYTE, to, tag, comm_), "MPI_Send", to);
      p += n, bytes -= static_cast<std::size_t>(n);
    } while (bytes > 0);
  }
  void recv(void* data, std::size_t bytes, int from, int tag) override {
    char* p = static_cast<char*>(data);
    do {
      const int n = piece(bytes);
      MPI_Status status;
      check(MPI_Recv(p, n, MPI_BYTE, from, tag, comm_, &status), "MPI_Recv", from);
      int got = 0;
      MPI_Get_count(&status, MPI_BYTE, &got);
      RAS_CHECK(got == n, "MPI: rank ", rank_, " expected ", n, " bytes from rank ", from, " but received ", got);
      p += n, bytes -= static_cast<std::size_t>(n);
    } while (bytes > 0);
  }
  void broadcast(void* data, std::size_t bytes, int root_rank) override {
    char* p = static_cast<char*>(data);
    do {
      const int n = piece(bytes);
      check(MPI_Bcast(p, n, MPI_BYTE, root_rank, comm_), "MPI_Bcast", root_rank);
      p += n, bytes -= static_cast<std::size_t>(n);
    } while (bytes > 0);
  }

 private:
  static int piece(std::size_t bytes) { return static_cast<int>(std::min<std::size_t>(bytes, std::size_t(1) << 30)); }
  void check(int rc, const char* what, int peer) const {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    ::ras::detail::throw_error(what, " failed on rank ", rank_, peer >= 0 ? " (peer rank " + std::to_string(peer) + ")" : std::string(),
                               ": ", std::string(text, static_cast<std::size_t>(len)));
  }

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace ras::mpi
