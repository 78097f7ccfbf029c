// ras/config.hpp — version, index type, the library's exception type and the checking macros.
// Every ras header includes this first. Errors are exceptions (ras::Error) whose messages name
// both the expected and the actual value or shape, in the style of PyTorch's TORCH_CHECK.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#define RAS_VERSION_MAJOR 0
#define RAS_VERSION_MINOR 1
#define RAS_VERSION_PATCH 0

namespace ras {

// Signed index type for extents, strides and loop counters (matches Eigen::Index on 64-bit).
using Index = std::int64_t;

inline constexpr const char* version_string = "0.1.0";

// The one exception type the library throws for bad input (shapes, arguments, files).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
template <class... Parts>
[[noreturn]] inline void throw_error(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  throw Error(out.str());
}
}  // namespace detail

}  // namespace ras

// RAS_CHECK(cond, parts...) throws ras::Error with the concatenated message parts when cond is false.
#define RAS_CHECK(cond, ...)                                                  \
  do {                                                                        \
    if (!(cond)) ::ras::detail::throw_error(__VA_ARGS__);                     \
  } while (0)

// RAS_ASSERT(cond) guards internal invariants; compiled out with NDEBUG.
#ifdef NDEBUG
#define RAS_ASSERT(cond) ((void)0)
#else
#define RAS_ASSERT(cond)                                                                     \
  do {                                                                                       \
    if (!(cond)) ::ras::detail::throw_error("internal invariant failed: ", #cond, " at ",   \
                                            __FILE__, ":", __LINE__);                        \
  } while (0)
#endif
