// ras/eval/radix_sort.hpp — order-preserving unsigned keys of floating-point scores and an LSD
// radix sort on them: the O(n) sort behind the ranking metrics (metrics.hpp, aupro.hpp), which
// sort up to ~30 million pixel scores per class. The key maps -0 and +0 to the same value (they
// compare equal, as in NumPy's sort); NaN has no key and must be rejected before (callers check
// std::isfinite, as sklearn's assert_all_finite does).
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "ras/config.hpp"

namespace ras::eval {

// Unsigned key type of a score type: 32 bits for float, 64 bits for double.
template <class S>
using sort_key_t = std::conditional_t<std::is_same_v<S, float>, std::uint32_t, std::uint64_t>;

// Monotone key: a < b  <=>  sort_key(a) < sort_key(b) for finite a, b (and -0 == +0).
template <class S>
inline sort_key_t<S> sort_key(S v) {
  static_assert(std::is_same_v<S, float> || std::is_same_v<S, double>,
                "sort_key: scores must be float or double");
  using K = sort_key_t<S>;
  constexpr K sign = K(1) << (sizeof(K) * 8 - 1);
  if (v == S(0)) v = S(0);  // -0 -> +0
  K b = std::bit_cast<K>(v);
  return (b & sign) ? K(~b) : K(b | sign);
}

// Inverse of sort_key.
template <class S>
inline S from_sort_key(sort_key_t<S> k) {
  using K = sort_key_t<S>;
  constexpr K sign = K(1) << (sizeof(K) * 8 - 1);
  K b = (k & sign) ? K(k & ~sign) : K(~k);
  return std::bit_cast<S>(b);
}

// Sorts v ascending by key(element) (an unsigned integer), stable, with 11-bit digits; tmp is
// scratch (resized to v.size()). Passes whose digit is the same for every element are skipped.
template <class T, class KeyFn>
inline void radix_sort(std::vector<T>& v, std::vector<T>& tmp, KeyFn key) {
  using K = std::invoke_result_t<KeyFn, const T&>;
  static_assert(std::is_unsigned_v<K>, "radix_sort: the key must be an unsigned integer");
  constexpr int bits = 11;
  constexpr std::size_t buckets = std::size_t(1) << bits;
  constexpr int passes = static_cast<int>((sizeof(K) * 8 + bits - 1) / bits);
  constexpr K digit_mask = K(buckets - 1);
  const std::size_t n = v.size();
  if (n < 2) return;
  tmp.resize(n);

  std::vector<std::size_t> hist(passes * buckets, 0);
  for (const T& e : v) {
    K k = key(e);
    for (int p = 0; p < passes; ++p) ++hist[p * buckets + ((k >> (p * bits)) & digit_mask)];
  }
  T* src = v.data();
  T* dst = tmp.data();
  for (int p = 0; p < passes; ++p) {
    std::size_t* h = hist.data() + p * buckets;
    bool trivial = false;
    for (std::size_t b = 0; b < buckets; ++b) {
      if (h[b] == n) trivial = true;
      if (h[b] != 0) break;
    }
    if (trivial) continue;  // all elements share this digit
    std::size_t offset = 0;
    for (std::size_t b = 0; b < buckets; ++b) {
      std::size_t c = h[b];
      h[b] = offset;
      offset += c;
    }
    for (std::size_t i = 0; i < n; ++i) {
      K k = key(src[i]);
      dst[h[(k >> (p * bits)) & digit_mask]++] = src[i];
    }
    std::swap(src, dst);
  }
  if (src != v.data()) v.swap(tmp);
}

// Sorts unsigned keys ascending.
template <class K>
inline void radix_sort_keys(std::vector<K>& v, std::vector<K>& tmp) {
  radix_sort(v, tmp, [](const K& k) { return k; });
}

}  // namespace ras::eval
