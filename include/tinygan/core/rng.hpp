/// \file
/// Rng: a seeded random stream that gives the same numbers on every compiler.
///
/// std::normal_distribution and friends are implemented differently by each
/// standard library, so a seed would not reproduce a run across compilers.
/// Here the bits come from xoshiro256** (seeded through splitmix64) and the
/// distributions are written out, so only libm's log/cos/sqrt are shared.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "tinygan/core/error.hpp"

namespace tinygan {

class Rng {
 public:
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 0) { this->seed(seed); }

  void seed(std::uint64_t seed) {
    for (auto& word : state_) word = splitmix64(seed);
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

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// Standard normal by Box-Muller; u1 is kept in (0, 1] so log never sees 0.
  double normal() {
    const double u1 = static_cast<double>((next_u64() >> 11) + 1) * 0x1.0p-53;
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double normal(double mean, double stddev) { return mean + stddev * normal(); }

  /// Uniform integer in [0, n), without modulo bias.
  std::uint64_t below(std::uint64_t n) {
    check(n > 0, "Rng::below: expected a positive bound, found 0");
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t r = next_u64();
    while (r >= limit) r = next_u64();
    return r % n;
  }

  /// The whole state, so that checkpoints can resume a stream exactly.
  const State& state() const { return state_; }
  void set_state(const State& s) { state_ = s; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  State state_{};
};

/// A 32-bit integer hash with full avalanche (Wellons' lowbias32): random bits
/// from a counter, for masks that every thread computes in its own share.
inline std::uint32_t hash32(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  return x ^ (x >> 16);
}

}  // namespace tinygan
