// examples/ras/device.hpp — the --device option of the `ras` subcommands: cpu (default) or cuda.
// Asking for cuda where it cannot run ends the program with one line on stderr and exit status 1:
//   a CPU-only build:             ras: CUDA was not compiled in (configure with -DRAS_WITH_CUDA=ON)
//   a CUDA build without a GPU:   ras: no CUDA device found
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "args.hpp"
#include "ras/device.hpp"

namespace ras_cli {

enum class DeviceChoice { cpu, cuda };

inline OptionSpec device_option() {
  return {"device", "compute device: cpu or cuda (a RAS_WITH_CUDA build and a GPU)", false, false, "cpu"};
}

inline DeviceChoice select_device(const Args& a) {
  const std::string d = a.get("device");
  RAS_CHECK(d == "cpu" || d == "cuda", "--device must be cpu or cuda but got '", d, "'");
  if (d == "cpu") return DeviceChoice::cpu;
#if defined(RAS_WITH_CUDA)
  if (ras::cuda_device_count() == 0) {
    std::fprintf(stderr, "ras: no CUDA device found\n");
    std::exit(1);
  }
  return DeviceChoice::cuda;
#else
  std::fprintf(stderr, "ras: CUDA was not compiled in (configure with -DRAS_WITH_CUDA=ON)\n");
  std::exit(1);
#endif
}

}  // namespace ras_cli
