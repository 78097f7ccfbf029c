// ras/testing/random_var.hpp — test helper: autograd variables filled with seeded N(0, 1) values
// (gradient checks run in double).
#pragma once

#include <cstdint>

#include "ras/autograd/var.hpp"
#include "ras/random.hpp"

namespace ras::testing {

template <int R, class S = double>
inline autograd::Var<S, R> random_var(const Shape<R>& shape, std::uint64_t seed, bool requires_grad = true) {
  Rng rng(seed);
  auto t = Tensor<S, R>::uninitialized(shape);
  fill_normal(t, rng);
  return autograd::Var<S, R>(std::move(t), requires_grad);
}

}  // namespace ras::testing
