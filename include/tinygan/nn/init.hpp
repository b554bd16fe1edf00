/// \file
/// Weight initializers.
#pragma once

#include <cmath>

#include "tinygan/core/rng.hpp"
#include "tinygan/core/tensor.hpp"

namespace tinygan::nn::init {

/// Seeds for layers built without an Rng: a per-thread sequence, so that no
/// two layers start with equal weights or equal dropout masks (as in PyTorch).
/// Reproducible runs call Module::initialize(rng) instead, which redraws all.
inline std::uint64_t next_construction_seed() {
  thread_local std::uint64_t count = 0;
  return 0x7169'6e79'6761'6e00ULL + count++;
}

template <class T>
void uniform(Tensor<T>& t, Rng& rng, double lo, double hi) {
  for (T& v : t) v = static_cast<T>(rng.uniform(lo, hi));
}

template <class T>
void normal(Tensor<T>& t, Rng& rng, double mean, double stddev) {
  for (T& v : t) v = static_cast<T>(rng.normal(mean, stddev));
}

/// PyTorch's default for Linear and Conv weights: kaiming_uniform with
/// a = sqrt(5), which comes to U(-1/sqrt(fan_in), 1/sqrt(fan_in)); biases use
/// the same bound. fan_in is the weight's dim 1 times its kernel size, as in
/// PyTorch (for a transposed convolution that is its output channels).
template <class T>
double default_bound(const Tensor<T>& weight) {
  const Shape& s = weight.shape();
  const Index fan_in = s.rank() >= 2 ? s.numel() / s[0] : s.numel();
  return fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
}

}  // namespace tinygan::nn::init
