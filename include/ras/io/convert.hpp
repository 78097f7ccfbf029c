// ras/io/convert.hpp — element conversions between the dtypes files hold (little-endian bytes,
// ras::DType) and C++ scalars, used by safetensors, npy and state-dict loading. Rules mirror
// torch's Tensor.to(dtype) where it is lossless in kind:
//   * anything -> floating (F64/F32/F16/BF16): allowed (float narrowing rounds to nearest even);
//   * integer or BOOL -> integer or BOOL: allowed when every value fits (checked before writing);
//   * floating -> integer or BOOL: refused (a file holding floats for an integer buffer is a bug).
// BOOL bytes must be 0 or 1.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ras/dtype.hpp"
#include "ras/io/half.hpp"

namespace ras::io {

static_assert(std::endian::native == std::endian::little,
              "ras::io reads and writes little-endian files by memcpy: big-endian hosts are unsupported");

inline bool is_floating(DType t) {
  return t == DType::F64 || t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

// True when values of dtype `from` may be converted to dtype `to` (see the rules above).
inline bool can_convert(DType from, DType to) { return is_floating(to) || !is_floating(from); }

namespace detail {

// Storage types for the dtypes that have no plain C++ equivalent.
struct F16Bits { std::uint16_t bits; };
struct BF16Bits { std::uint16_t bits; };
struct BoolByte { std::uint8_t byte; };

// Calls f(Storage{}) with the storage type of dtype t.
template <class F>
decltype(auto) with_storage(DType t, F&& f) {
  switch (t) {
    case DType::F64: return f(double{});
    case DType::F32: return f(float{});
    case DType::F16: return f(F16Bits{});
    case DType::BF16: return f(BF16Bits{});
    case DType::I64: return f(std::int64_t{});
    case DType::I32: return f(std::int32_t{});
    case DType::I16: return f(std::int16_t{});
    case DType::I8: return f(std::int8_t{});
    case DType::U8: return f(std::uint8_t{});
    case DType::BOOL: return f(BoolByte{});
  }
  ::ras::detail::throw_error("invalid DType value ", static_cast<int>(t));
}

// Calls f(T{}) with the C++ scalar of a dtype that has one (not F16/BF16).
template <class F>
decltype(auto) with_scalar(DType t, F&& f) {
  switch (t) {
    case DType::F64: return f(double{});
    case DType::F32: return f(float{});
    case DType::I64: return f(std::int64_t{});
    case DType::I32: return f(std::int32_t{});
    case DType::I16: return f(std::int16_t{});
    case DType::I8: return f(std::int8_t{});
    case DType::U8: return f(std::uint8_t{});
    case DType::BOOL: return f(bool{});
    case DType::F16:
    case DType::BF16: break;
  }
  ::ras::detail::throw_error("no C++ scalar type for dtype ", dtype_name(t));
}

template <class St>
inline constexpr bool storage_is_floating =
    std::is_floating_point_v<St> || std::is_same_v<St, F16Bits> || std::is_same_v<St, BF16Bits>;

// Value of one stored element as float/double (floating storage) or int64 (integer storage).
template <class St>
inline auto load_value(St s) {
  if constexpr (std::is_same_v<St, F16Bits>) return f16_to_float(s.bits);
  else if constexpr (std::is_same_v<St, BF16Bits>) return bf16_to_float(s.bits);
  else if constexpr (std::is_same_v<St, BoolByte>) return static_cast<std::int64_t>(s.byte);
  else if constexpr (std::is_floating_point_v<St>) return s;
  else return static_cast<std::int64_t>(s);
}

template <class T>
inline bool integer_fits(std::int64_t v) {
  if constexpr (std::is_same_v<T, bool>) return v == 0 || v == 1;
  else return std::in_range<T>(v);
}

}  // namespace detail

// Converts n little-endian elements of dtype `from` at `src` (any alignment) into dst.
// T is float, double, an integer type or bool. `what` prefixes error messages.
template <class T>
inline void convert_to(DType from, const void* src, T* dst, Index n, const std::string& what) {
  static_assert(std::is_arithmetic_v<T>, "convert_to: T must be an arithmetic type");
  constexpr DType to = dtype_v<T>;
  RAS_CHECK(can_convert(from, to), what, ": cannot convert ", dtype_name(from), " to ", dtype_name(to),
            " (floating point values into an integer buffer)");
  if (n <= 0) return;
  const auto* bytes = static_cast<const unsigned char*>(src);
  detail::with_storage(from, [&](auto tag) {
    using St = decltype(tag);
    if constexpr (detail::storage_is_floating<St> && !std::is_floating_point_v<T>) {
      return;  // unreachable: refused by can_convert above
    } else {
      auto read = [bytes](Index i) {
        St s;
        std::memcpy(&s, bytes + static_cast<std::size_t>(i) * sizeof(St), sizeof(St));
        return detail::load_value(s);
      };
      if constexpr (!detail::storage_is_floating<St> && !std::is_floating_point_v<T>) {
        // Integer -> integer: validate every value first, so nothing is written when one does not fit.
        if (from != to || from == DType::BOOL) {
          for (Index i = 0; i < n; ++i) {
            const std::int64_t v = read(i);
            if (from == DType::BOOL && v > 1)
              ::ras::detail::throw_error(what, ": BOOL element ", i, " holds byte ", v, " (expected 0 or 1)");
            if (!detail::integer_fits<T>(v))
              ::ras::detail::throw_error(what, ": element ", i, " = ", v, " of ", dtype_name(from),
                                         " does not fit in ", dtype_name(to));
          }
        }
      }
      if (from == to) {
        std::memcpy(static_cast<void*>(dst), bytes, static_cast<std::size_t>(n) * sizeof(T));
        return;
      }
      for (Index i = 0; i < n; ++i) dst[i] = static_cast<T>(read(i));
    }
  });
}

namespace detail {
// One value of T encoded as storage St.
template <class St, class T>
inline St encode(T v) {
  if constexpr (std::is_same_v<St, F16Bits>) return St{float_to_f16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<St, BF16Bits>) return St{float_to_bf16(static_cast<float>(v))};
  else if constexpr (std::is_same_v<St, BoolByte>) return St{static_cast<std::uint8_t>(v)};
  else return static_cast<St>(v);
}
}  // namespace detail

// Converts n values of T into little-endian elements of dtype `to` at dst (any alignment).
template <class T>
inline void convert_from(const T* src, DType to, void* dst, Index n, const std::string& what) {
  static_assert(std::is_arithmetic_v<T>, "convert_from: T must be an arithmetic type");
  constexpr DType from = dtype_v<T>;
  RAS_CHECK(can_convert(from, to), what, ": cannot convert ", dtype_name(from), " to ", dtype_name(to),
            " (floating point values into an integer dtype)");
  if (n <= 0) return;
  auto* bytes = static_cast<unsigned char*>(dst);
  if (from == to) {
    std::memcpy(bytes, static_cast<const void*>(src), static_cast<std::size_t>(n) * sizeof(T));
    return;
  }
  detail::with_storage(to, [&](auto tag) {
    using St = decltype(tag);
    if constexpr (!detail::storage_is_floating<St> && std::is_floating_point_v<T>) {
      return;  // unreachable: refused by can_convert above
    } else {
      if constexpr (!detail::storage_is_floating<St>) {  // integer -> integer: range check first
        for (Index i = 0; i < n; ++i) {
          const auto v = static_cast<std::int64_t>(src[i]);
          bool fits;
          if constexpr (std::is_same_v<St, detail::BoolByte>) fits = v == 0 || v == 1;
          else fits = std::in_range<St>(v);
          if (!fits)
            ::ras::detail::throw_error(what, ": element ", i, " = ", v, " of ", dtype_name(from),
                                       " does not fit in ", dtype_name(to));
        }
      }
      for (Index i = 0; i < n; ++i) {
        const St s = detail::encode<St>(src[i]);
        std::memcpy(bytes + static_cast<std::size_t>(i) * sizeof(St), &s, sizeof(St));
      }
    }
  });
}

// Rank- and type-erased conversion: n elements of dtype `from` at src into dtype `to` at dst.
inline void convert_dtype(DType from, const void* src, DType to, void* dst, Index n, const std::string& what) {
  if (to == DType::F16 || to == DType::BF16) {
    // Through float: F16/BF16 have no C++ scalar (F64 sources are rounded twice, which can
    // differ from direct rounding only in the last F16/BF16 bit of rare halfway cases).
    RAS_CHECK(n >= 0, what, ": negative element count ", n);
    std::vector<float> tmp(static_cast<std::size_t>(n));
    float* f = tmp.data();
    convert_to<float>(from, src, f, n, what);
    convert_from<float>(f, to, dst, n, what);
    return;
  }
  detail::with_scalar(to, [&](auto tag) {
    using T = decltype(tag);
    convert_to<T>(from, src, static_cast<T*>(dst), n, what);
  });
}

}  // namespace ras::io
