// ras/kernels/backend.hpp — the device seam. A kernel call kernels::add<S, D>(...) becomes
// dispatch<op::Add, D>(...), which calls Backend<D>::run(op::Add{}, ...). A device is made usable
// by specialising Backend<D> (and giving D its memory functions, see device.hpp); nothing above
// the kernels changes. The built-in backends forward to run_kernel(Tag, op, args...) overloads
// found by argument-dependent lookup in their own namespace:
//   Backend<Cpu>       -> kernels/cpu/       (vectorised, OpenMP)
//   Backend<Reference> -> kernels/reference/ (plain scalar loops, the parity oracle)
//   Backend<Cuda>      -> kernels/cuda/      (RAS_WITH_CUDA)
#pragma once

#include <utility>

#include "ras/device.hpp"
#include "ras/kernels/ops.hpp"

namespace ras::kernels {

// Specialised per device. The primary template is left undefined on purpose.
template <class D>
struct Backend;

template <class D>
concept has_backend = requires { sizeof(Backend<D>); };

// Runs kernel Op on device D. Arguments are passed through unchanged (device pointers, tensors of
// device D, geometry structs).
template <class Op, class D, class... Args>
inline decltype(auto) dispatch(Args&&... args) {
  static_assert(AllKernels::contains<Op>, "dispatch: kernel tag is not listed in kernels/ops.hpp AllKernels");
  static_assert(has_backend<D>, "dispatch: no kernel backend for this device in this build "
                                "(the CUDA backend needs RAS_WITH_CUDA)");
  return Backend<D>::run(Op{}, std::forward<Args>(args)...);
}

// A backend whose kernels are the run_kernel(Tag{}, op, ...) overloads of one namespace.
template <class Tag>
struct OverloadBackend {
  template <class Op, class... Args>
  static decltype(auto) run(Op op, Args&&... args) {
    return run_kernel(Tag{}, op, std::forward<Args>(args)...);
  }
};

}  // namespace ras::kernels
