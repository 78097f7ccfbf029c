// ras/dist/ordered_sum.hpp — an allreduce (sum) over ranks whose result is bitwise the sequential
// sum ((t_0 + t_1) + t_2) + ... of terms spread over the ranks in order: rank 0 holds the first
// terms, rank 1 the next ones, and so on (train/batch_parallel.hpp's fixed micro-batch order, so N
// ranks reproduce one process exactly).
//
// The "ordered chain": rank 0 starts from its partial sum; rank r > 0 receives the running sum of
// ranks 0..r-1 from rank r-1, adds its own terms one after the other, and passes it to rank r+1;
// the last rank then holds the total and broadcasts it. The flat buffer travels in chunks, so the
// chain is pipelined: rank r adds into chunk c while rank r+1 works on chunk c-1, and the time is
// about (ranks + chunks) x one chunk's transfer and additions rather than ranks x the whole buffer.
// Volume per step: every link carries the buffer once (ranks-1 links), plus the broadcast.
//
// The buffer is cut into segments (one per parameter); a term may lack some segments (a parameter
// without a gradient in that micro-batch): those are skipped, as BatchParallel skips them, and a
// presence flag per segment (the OR over all terms) travels with the sum.
#pragma once

#include <algorithm>
#include <span>
#include <vector>

#include "ras/dist/communicator.hpp"
#include "ras/kernels/elementwise.hpp"

namespace ras::dist {

// One term of the sum: flat values at the segment offsets, and per segment whether it is present.
template <class S>
struct SumTerm {
  const S* data = nullptr;
  const char* present = nullptr;
};

// segments: P + 1 offsets into the flat buffer (0 = segments[0] <= ... <= segments[P] = total).
// acc (total values) and acc_present (P flags): on rank 0 the sum of the terms before its `terms`
// (zeros / 0 where absent; all zeros for none); ignored on the other ranks. On return, on every
// rank: the sum of every rank's terms in rank order (absent segments hold rank 0's input values)
// and the OR of the presence flags. chunk: values per pipelined message (> 0).
template <class S>
inline void ordered_chain_sum(Communicator& comm, std::span<const Index> segments, S* acc, char* acc_present,
                              std::span<const SumTerm<S>> terms, Index chunk = Index(1) << 20) {
  RAS_CHECK(!segments.empty() && segments.front() == 0, "ordered_chain_sum: segment offsets must start at 0");
  RAS_CHECK(chunk > 0, "ordered_chain_sum: chunk must be > 0 but got ", chunk);
  const int r = comm.rank(), R = comm.size();
  const std::size_t P = segments.size() - 1;
  const Index total = segments.back();
  const int prev = r - 1, next = r + 1 < R ? r + 1 : -1;
  // presence: OR along the chain, then from the last rank to all
  if (prev >= 0 && P > 0) comm.recv(acc_present, P, prev, Communicator::tag_chain);
  for (const auto& t : terms)
    for (std::size_t s = 0; s < P; ++s) acc_present[s] = static_cast<char>(acc_present[s] | (t.present[s] ? 1 : 0));
  if (next >= 0 && P > 0) comm.send(acc_present, P, next, Communicator::tag_chain);
  // values, chunk by chunk
  for (Index c0 = 0; c0 < total; c0 += chunk) {
    const Index c1 = std::min(total, c0 + chunk);
    if (prev >= 0) comm.recv(acc + c0, static_cast<std::size_t>(c1 - c0) * sizeof(S), prev, Communicator::tag_chain);
    if (!terms.empty()) {
      // the segments overlapping [c0, c1)
      std::size_t s = static_cast<std::size_t>(std::upper_bound(segments.begin(), segments.end(), c0) - segments.begin()) - 1;
      for (; s < P && segments[s] < c1; ++s) {
        const Index lo = std::max(c0, segments[s]), hi = std::min(c1, segments[s + 1]);
        if (hi <= lo) continue;
        for (const auto& t : terms)
          if (t.present[s]) kernels::axpy_acc<S, Cpu>(hi - lo, S(1), t.data + lo, acc + lo);
      }
    }
    if (next >= 0) comm.send(acc + c0, static_cast<std::size_t>(c1 - c0) * sizeof(S), next, Communicator::tag_chain);
  }
  if (R > 1) {
    if (P > 0) comm.broadcast(acc_present, P, R - 1);
    comm.broadcast(acc, static_cast<std::size_t>(total) * sizeof(S), R - 1);
  }
}

}  // namespace ras::dist
