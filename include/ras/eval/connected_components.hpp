// ras/eval/connected_components.hpp — connected components of a binary 2-D mask with
// 8-connectivity, as scipy.ndimage.label(mask, structure=np.ones((3, 3))) which the MVTec AD
// PRO reference uses: labels 1..K numbered in raster order of each component's first pixel
// (scipy's numbering), 0 = background. Iterative flood fill, O(H*W).
#pragma once

#include <cstdint>
#include <vector>

#include "ras/config.hpp"
#include "ras/tensor.hpp"

namespace ras::eval {

namespace detail {
// mask: h*w (non-zero = foreground), labels: h*w out. Appends each component's pixel count to
// sizes and returns the number of components. stack is scratch.
inline Index label_components(const std::uint8_t* mask, Index h, Index w, std::int32_t* labels,
                              std::vector<Index>& sizes, std::vector<Index>& stack) {
  const Index n = h * w;
  for (Index i = 0; i < n; ++i) labels[i] = 0;
  std::int32_t next = 0;
  for (Index seed = 0; seed < n; ++seed) {
    if (mask[seed] == 0 || labels[seed] != 0) continue;
    ++next;
    Index size = 0;
    labels[seed] = next;
    stack.clear();
    stack.push_back(seed);
    while (!stack.empty()) {
      Index p = stack.back();
      stack.pop_back();
      ++size;
      Index y = p / w, x = p % w;
      for (Index dy = -1; dy <= 1; ++dy) {
        Index yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (Index dx = -1; dx <= 1; ++dx) {
          Index xx = x + dx;
          if (xx < 0 || xx >= w) continue;
          Index q = yy * w + xx;
          if (mask[q] != 0 && labels[q] == 0) {
            labels[q] = next;
            stack.push_back(q);
          }
        }
      }
    }
    sizes.push_back(size);
  }
  return next;
}
}  // namespace detail

struct Components {
  Tensor<std::int32_t, 2> labels;  // (H, W): 0 = background, k = component k (1-based)
  std::vector<Index> sizes;        // sizes[k - 1] = pixel count of component k
  Index count() const { return static_cast<Index>(sizes.size()); }
};

// mask: (H, W), non-zero = foreground -> labels (H, W) and component sizes.
inline Components connected_components(TensorView<const std::uint8_t, 2> mask) {
  RAS_CHECK(mask.numel() < (Index(1) << 31), "connected_components: expected fewer than 2^31 pixels but got ",
            mask.numel());
  Components c;
  c.labels = Tensor<std::int32_t, 2>::uninitialized(mask.shape());
  std::vector<Index> stack;
  detail::label_components(mask.data(), mask.dim(0), mask.dim(1), c.labels.data(), c.sizes, stack);
  return c;
}

}  // namespace ras::eval
