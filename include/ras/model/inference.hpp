// ras/model/inference.hpp — anomaly maps of many images, parallel over images: the batch is cut into
// fixed chunks of images (independent of the thread count, so the maps do not depend on it), the
// chunks spread over workers (ras::parallel_tasks), each running reconstruction + channel distance +
// upsampling with single-threaded kernels. The model is shared read-only (inference records nothing).
#pragma once

#include <algorithm>

#include "ras/autograd/tape.hpp"
#include "ras/model/ras_model.hpp"
#include "ras/model/scoring.hpp"
#include "ras/parallel.hpp"

namespace ras::model {

// features: (N, C, h, w) -> anomaly maps (N, 1, out_h, out_w). The model must be in eval mode.
// chunk: images per task; threads: workers (0: Cpu::num_threads(), clamped to the cores).
template <class S>
inline MapBatch<S, Cpu> anomaly_maps(const nn::RasReconstruction<S>& model, const Tensor<S, 4>& features, Index out_h,
                                     Index out_w, Index chunk = 4, int threads = 0) {
  RAS_CHECK(!model.training(), "anomaly_maps: the model must be in eval mode (set_training(false))");
  RAS_CHECK(chunk >= 1, "anomaly_maps: chunk must be >= 1 but got ", chunk);
  const Index N = features.dim(0);
  auto out = Tensor<S, 4>::uninitialized({N, 1, out_h, out_w});
  parallel_tasks((N + chunk - 1) / chunk, threads, [&](Index t, int) {
    autograd::InferenceMode no_tape;  // per thread: grad mode is thread-local
    const Index n0 = t * chunk, n = std::min(chunk, N - n0);
    const auto x = features.slice_rows(n0, n);
    const auto rec = model(x);
    const auto map = upsample_map(anomaly_map_grid(rec.value(), x), out_h, out_w);
    out.set_rows(n0, map.tensor());
  });
  return MapBatch<S, Cpu>(std::move(out));
}

}  // namespace ras::model
