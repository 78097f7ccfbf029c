// ras/random.hpp — a seeded, portable random number generator (SplitMix64-seeded xoshiro256**)
// with uniform and normal fills. Deterministic across compilers and platforms (unlike
// std::normal_distribution), and its state is a plain array so training checkpoints can save it.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ras/config.hpp"

#include "ras/tensor.hpp"

namespace ras {

class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& s : state_) s = splitmix64(x);
  }
  const State& state() const { return state_; }
  void set_state(const State& s) {
    RAS_CHECK(s[0] | s[1] | s[2] | s[3], "Rng::set_state: the all-zero state is invalid");
    state_ = s;
  }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal by the Box-Muller transform (one value per call, the pair's twin cached).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = 0.0;
    while (u1 <= 0.0) u1 = uniform();
    double u2 = uniform();
    double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }
  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) {
    RAS_CHECK(n > 0, "Rng::below: expected n > 0 but got 0");
    return next_u64() % n;
  }
  // Drops the cached Box-Muller twin (so a saved State fully determines the stream).
  void clear_cache() { has_spare_ = false; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  State state_{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// Draws are made on the host in element order and copied to the tensor's device.
template <class S, int R, class D>
inline void fill_uniform(Tensor<S, R, D>& t, Rng& rng, double lo = 0.0, double hi = 1.0) {
  std::vector<S> values(static_cast<std::size_t>(t.numel()));
  for (auto& v : values) v = static_cast<S>(rng.uniform(lo, hi));
  D::copy_from_host(t.data(), values.data(), t.bytes());
}
template <class S, int R, class D>
inline void fill_normal(Tensor<S, R, D>& t, Rng& rng, double mean = 0.0, double stddev = 1.0) {
  std::vector<S> values(static_cast<std::size_t>(t.numel()));
  for (auto& v : values) v = static_cast<S>(mean + stddev * rng.normal());
  D::copy_from_host(t.data(), values.data(), t.bytes());
}

}  // namespace ras
