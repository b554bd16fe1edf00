// Tensor, Shape and Rng.
#include <doctest/doctest.h>

#include <cstdint>

#include "tinygan/gan.hpp"

using namespace tinygan;

TEST_CASE("tensor shape, element access, fill and reshape") {
  Tensor<float> t(Shape{2, 3, 4, 5});
  CHECK(t.numel() == 120);
  CHECK(t.rank() == 4);
  t(1, 2, 3, 4) = 7.5f;
  CHECK(t[119] == 7.5f);  // NCHW, row-major: the last element
  t(0, 1, 0, 0) = 2.0f;
  CHECK(t[20] == 2.0f);
  t.fill(1.0f);
  CHECK(t.array().sum() == doctest::Approx(120));
  t.reshape({6, 20});
  CHECK(t.shape() == Shape{6, 20});
  CHECK(t.shape().per_sample() == 20);
}

TEST_CASE("tensor storage is aligned for SIMD and matrix views copy nothing") {
  Tensor<float> t(Shape{3, 5});
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 16 == 0);
  auto m = t.matrix();
  CHECK(m.rows() == 3);
  CHECK(m.cols() == 5);
  m(2, 4) = 3.0f;  // writes through to the tensor's memory
  CHECK(t(2, 4) == 3.0f);
  CHECK(m.data() == t.data());
}

TEST_CASE("rng streams are reproducible and have the right moments") {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 5; ++i) CHECK(a.next_u64() == b.next_u64());
  CHECK(Rng(42).next_u64() != c.next_u64());

  // Known answers, computed by an independent Python transcription of
  // xoshiro256** seeded through splitmix64: a changed generator, or a
  // compiler that computes it differently, fails here.
  Rng pinned(0);
  CHECK(pinned.next_u64() == 0x99ec5f36cb75f2b4ULL);
  CHECK(pinned.next_u64() == 0xbf6e1f784956452aULL);
  CHECK(pinned.next_u64() == 0x1a5f849d4933e6e0ULL);
  CHECK(Rng(42).normal() == doctest::Approx(-1.6132237513849157).epsilon(1e-15));

  Rng r(7);
  double s = 0, s2 = 0, lo = 1, hi = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal();
    s += z;
    s2 += z * z;
    const double u = r.uniform();
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  CHECK(std::abs(s / n) < 0.01);
  CHECK(std::abs(s2 / n - 1) < 0.02);
  CHECK(lo >= 0);
  CHECK(hi < 1);
  CHECK(r.below(10) < 10);
}

TEST_CASE("rng state can be saved and restored mid-stream") {
  Rng r(3);
  r.normal();
  const auto state = r.state();
  const double next = r.normal();
  Rng s(99);
  s.set_state(state);
  CHECK(s.normal() == next);
}

TEST_CASE("randn tensors from the same seed are identical") {
  Rng a(5), b(5);
  const auto x = Tensor<double>::randn({4, 4}, a);
  const auto y = Tensor<double>::randn({4, 4}, b);
  for (Index i = 0; i < x.numel(); ++i) CHECK(x[i] == y[i]);
}
