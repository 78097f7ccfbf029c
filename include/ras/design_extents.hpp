// ras/design_extents.hpp — the tensor types whose extents are facts of the design, fixed in the
// type so that handing one where the other is expected does not compile:
//   ImageBatch  (N, 3, H, W)  RGB images, the input of every backbone
//   MapBatch    (N, 1, H, W)  anomaly maps, the input of upsampling and image scoring
// Plain tensors are still accepted at these boundaries (checked at run time); a ShapedTensor with
// other fixed extents is a compile-time error (tests/compile_fail/).
#pragma once

#include "ras/tensor.hpp"

namespace ras {

using ImageExtents = Extents<dyn, 3, dyn, dyn>;
using MapExtents = Extents<dyn, 1, dyn, dyn>;

template <class S, class D = Cpu>
using ImageBatch = ShapedTensor<S, ImageExtents, D>;
template <class S, class D = Cpu>
using MapBatch = ShapedTensor<S, MapExtents, D>;

}  // namespace ras
