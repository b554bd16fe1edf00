// Golden files written by tests/golden/make_golden.py with PyTorch, and the
// comparison used against them.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "tinygan/gan.hpp"

namespace tinygan::testing {

inline io::TensorFile<float> golden(const std::string& name) {
  return io::load_safetensors<float>(std::string(TINYGAN_GOLDEN_DIR) + "/" + name + ".safetensors");
}

// Agreement within rtol relative to the tensor's largest magnitude. The
// golden values are float64 results rounded to float32, so this measures
// tinygan's own float rounding. It is normwise, not per element, because a
// float32 sum of hundreds of terms that cancels to nearly zero (or tanh's
// 1 - y^2 for y near 1) cannot keep 5 significant digits in any library.
inline void expect_close(const Tensor<float>& actual, const Tensor<float>& expected,
                         const std::string& what, double rtol = 1e-5) {
  INFO(what);
  REQUIRE(actual.numel() == expected.numel());
  double largest = 0;
  for (float e : expected) largest = std::max(largest, std::abs(static_cast<double>(e)));
  double worst = 0;
  Index worst_at = 0;
  for (Index i = 0; i < expected.numel(); ++i) {
    const double err = std::abs(static_cast<double>(actual[i]) - expected[i]) / std::max(largest, 1e-30);
    if (err > worst) {
      worst = err;
      worst_at = i;
    }
  }
  INFO("worst error relative to the largest magnitude " << worst << " at element " << worst_at << ": tinygan "
                               << actual[worst_at] << ", PyTorch " << expected[worst_at]);
  CHECK(worst <= rtol);
}

// Componentwise agreement for products and convolutions: each element within
// rtol of its own condition, scale[i] = the same op applied to the absolute
// values of its inputs (|x| |W|^T + |b| for a Dense output). That is the
// scale a float32 sum of many terms is accurate to, so an output that cancels
// to nearly zero is judged fairly, and a large one strictly.
inline void expect_close_scaled(const Tensor<float>& actual, const Tensor<float>& expected,
                                const Tensor<double>& scale, const std::string& what,
                                double rtol = 1e-5) {
  INFO(what);
  REQUIRE(actual.numel() == expected.numel());
  REQUIRE(scale.numel() == expected.numel());
  double worst = 0;
  Index worst_at = 0;
  for (Index i = 0; i < expected.numel(); ++i) {
    const double err = std::abs(static_cast<double>(actual[i]) - expected[i]) / std::max(scale[i], 1e-30);
    if (err > worst) {
      worst = err;
      worst_at = i;
    }
  }
  INFO("worst error relative to the element's condition " << worst << " at element " << worst_at
       << ": tinygan " << actual[worst_at] << ", PyTorch " << expected[worst_at]);
  CHECK(worst <= rtol);
}

}  // namespace tinygan::testing
