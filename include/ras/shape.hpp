// ras/shape.hpp — shapes of fixed rank (Shape<R>), mixed static/dynamic extents (Extents<...>),
// element counts, row-major strides and printing. Extents follows C++23 std::extents: an extent
// equal to ras::dyn is a run-time value, any other value is fixed in the type.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

#include "ras/config.hpp"

namespace ras {

template <int Rank>
using Shape = std::array<Index, Rank>;

// Marks an extent that is only known at run time.
inline constexpr Index dyn = -1;

template <std::size_t Rank>
inline Index numel(const std::array<Index, Rank>& shape) {
  Index n = 1;
  for (Index e : shape) n *= e;
  return n;
}

inline Index numel(const std::vector<Index>& shape) {
  Index n = 1;
  for (Index e : shape) n *= e;
  return n;
}

template <std::size_t Rank>
inline std::array<Index, Rank> row_major_strides(const std::array<Index, Rank>& shape) {
  std::array<Index, Rank> strides{};
  Index s = 1;
  for (std::size_t i = Rank; i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

// "(2, 3, 14, 14)"; dyn extents print as "?".
template <class Container>
inline std::string shape_string(const Container& shape) {
  std::string s = "(";
  bool first = true;
  for (auto e : shape) {
    if (!first) s += ", ";
    s += (static_cast<Index>(e) == dyn) ? std::string("?") : std::to_string(static_cast<Index>(e));
    first = false;
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

template <std::size_t Rank>
inline std::string to_string(const std::array<Index, Rank>& shape) {
  return shape_string(shape);
}

// Mixed static and dynamic extents: Extents<dyn, 272, 14, 14> is a batch of B4 feature maps.
template <Index... Es>
struct Extents {
  static constexpr int rank = static_cast<int>(sizeof...(Es));
  static constexpr std::array<Index, sizeof...(Es)> static_extents{Es...};

  static constexpr bool is_static(int i) { return static_extents[static_cast<std::size_t>(i)] != dyn; }

  // Throws when a run-time shape disagrees with an extent fixed in the type.
  static void check(const Shape<rank>& shape, const char* what) {
    for (int i = 0; i < rank; ++i) {
      auto e = static_extents[static_cast<std::size_t>(i)];
      RAS_CHECK(e == dyn || e == shape[static_cast<std::size_t>(i)], what, ": expected shape ",
                shape_string(static_extents), " but got ", shape_string(shape));
    }
  }
};

namespace detail {
template <class A, class B>
struct ExtentsCompatible;
template <Index... As, Index... Bs>
struct ExtentsCompatible<Extents<As...>, Extents<Bs...>> {
  static constexpr bool compute() {
    if constexpr (sizeof...(As) != sizeof...(Bs)) {
      return false;
    } else {
      return ((As == dyn || Bs == dyn || As == Bs) && ...);
    }
  }
  static constexpr bool value = compute();
};
}  // namespace detail

// True when two extents can describe the same shape (same rank, no two fixed extents differ).
template <class A, class B>
inline constexpr bool extents_compatible = detail::ExtentsCompatible<A, B>::value;

template <int Rank>
inline void check_same_shape(const Shape<Rank>& expected, const Shape<Rank>& actual, const char* what) {
  RAS_CHECK(expected == actual, what, ": expected shape ", shape_string(expected), " but got ",
            shape_string(actual));
}

}  // namespace ras
