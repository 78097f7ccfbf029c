// ras/nn/transfer.hpp — copying a module's state (every parameter and buffer) between two
// instances of the same module on different devices: a Cuda model initialised from a Cpu one,
// trained weights brought back for saving (e.g. nn::RasReconstruction<float, Cuda> <-> <float, Cpu>).
#pragma once

#include "ras/device.hpp"
#include "ras/dtype.hpp"
#include "ras/nn/module.hpp"

namespace ras::nn {

// dst's parameters (scalar S) and buffers = src's; the two modules must have the same structure
// (same names and shapes in the same order).
template <class S, class DS, class DD, class MS, class MD>
inline void copy_module_state(MS& src, MD& dst) {
  auto ps = named_parameters<S>(src);
  auto pd = named_parameters<S>(dst);
  RAS_CHECK(ps.size() == pd.size(), "copy_module_state: ", ps.size(), " parameters in the source but ", pd.size(),
            " in the destination");
  for (std::size_t i = 0; i < ps.size(); ++i) {
    RAS_CHECK(ps[i].name == pd[i].name && ps[i].numel == pd[i].numel, "copy_module_state: parameter ", ps[i].name,
              " does not match ", pd[i].name);
    copy_between_devices<DS, DD>(pd[i].value, ps[i].value, static_cast<std::size_t>(ps[i].numel) * sizeof(S));
  }
  auto bs = named_buffers(src);
  auto bd = named_buffers(dst);
  RAS_CHECK(bs.size() == bd.size(), "copy_module_state: ", bs.size(), " buffers in the source but ", bd.size(),
            " in the destination");
  for (std::size_t i = 0; i < bs.size(); ++i) {
    RAS_CHECK(bs[i].name == bd[i].name && bs[i].shape == bd[i].shape && bs[i].dtype == bd[i].dtype,
              "copy_module_state: buffer ", bs[i].name, " does not match ", bd[i].name);
    Index n = 1;
    for (Index e : bs[i].shape) n *= e;
    copy_between_devices<DS, DD>(bd[i].data, bs[i].data, static_cast<std::size_t>(n) * dtype_size(bs[i].dtype));
  }
}

}  // namespace ras::nn
