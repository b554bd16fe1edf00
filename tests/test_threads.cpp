// Thread settings: the denormal flush reaches every OpenMP thread.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tinygan/gan.hpp"

using namespace tinygan;

namespace {
// On each of `threads` threads: is 1e-30 * 1e-10 (a subnormal, 1e-40) flushed to 0?
std::vector<int> flushed_per_thread(int threads) {
  std::vector<int> flushed(threads, -1);
  volatile float tiny = 1e-30f, factor = 1e-10f;
#pragma omp parallel num_threads(threads)
  {
#ifdef _OPENMP
    const int me = omp_get_thread_num();
#else
    const int me = 0;
#endif
    const float product = tiny * factor;
    flushed[me] = product == 0.0f ? 1 : 0;
  }
  return flushed;
}
}  // namespace

TEST_CASE("set_flush_denormals turns subnormal results to zero on every thread, and back") {
  const int before = num_threads();
  set_num_threads(2);
  if (!set_flush_denormals(true)) return;  // no such switch on this CPU
  for (int f : flushed_per_thread(2)) CHECK(f == 1);
  set_flush_denormals(false);
  for (int f : flushed_per_thread(2)) CHECK(f == 0);
  set_num_threads(before);
}

namespace {
struct ConvResult {
  Tensor<double> out, dx, dw;
};
// Forward and backward of a convolution big enough to be split over the batch.
template <class Op>
ConvResult run_conv(int threads, const Shape& x_shape, const Shape& w_shape, Op op) {
  set_num_threads(threads);
  Rng rng(7);
  Var<double> x(Tensor<double>::randn(x_shape, rng), true), w(Tensor<double>::randn(w_shape, rng), true);
  const Var<double> y = op(x, w);
  backward(sum(mul(y, y)));
  return {y.value(), x.grad(), w.grad()};
}
void expect_same(const Tensor<double>& a, const Tensor<double>& b, const char* what) {
  INFO(what);
  REQUIRE(a.shape() == b.shape());
  double worst = 0, scale = 0;
  for (Index i = 0; i < a.numel(); ++i) {
    worst = std::max(worst, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(a[i]));
  }
  CHECK(worst <= 1e-12 * scale);
}
}  // namespace

TEST_CASE("convolutions cut over the batch give one thread's results") {
  // Batch 5: the two threads' groups hold 2 and 3 samples.
  const int before = num_threads();
  const auto conv = [](const Var<double>& x, const Var<double>& w) { return conv2d(x, w, {}, 2, 2); };
  const auto convt = [](const Var<double>& x, const Var<double>& w) {
    return conv_transpose2d(x, w, {}, 2, 2, 1);
  };
  const ConvResult c1 = run_conv(1, {5, 32, 14, 13}, {48, 32, 5, 5}, conv);
  const ConvResult c2 = run_conv(2, {5, 32, 14, 13}, {48, 32, 5, 5}, conv);
  expect_same(c1.out, c2.out, "conv2d output");
  expect_same(c1.dx, c2.dx, "conv2d input gradient");
  expect_same(c1.dw, c2.dw, "conv2d weight gradient");
  const ConvResult t1 = run_conv(1, {5, 48, 7, 7}, {48, 32, 5, 5}, convt);
  const ConvResult t2 = run_conv(2, {5, 48, 7, 7}, {48, 32, 5, 5}, convt);
  expect_same(t1.out, t2.out, "conv_transpose2d output");
  expect_same(t1.dx, t2.dx, "conv_transpose2d input gradient");
  expect_same(t1.dw, t2.dw, "conv_transpose2d weight gradient");
  // One input (output) channel: sample_conv.hpp's per-sample lowering, 64x64 so the work is shared out.
  const ConvResult n1 = run_conv(1, {5, 1, 64, 64}, {64, 1, 5, 5}, conv);
  const ConvResult n2 = run_conv(2, {5, 1, 64, 64}, {64, 1, 5, 5}, conv);
  expect_same(n1.out, n2.out, "1-channel conv2d output");
  expect_same(n1.dx, n2.dx, "1-channel conv2d input gradient");
  expect_same(n1.dw, n2.dw, "1-channel conv2d weight gradient");
  const ConvResult m1 = run_conv(1, {5, 64, 32, 32}, {64, 1, 5, 5}, convt);
  const ConvResult m2 = run_conv(2, {5, 64, 32, 32}, {64, 1, 5, 5}, convt);
  expect_same(m1.out, m2.out, "1-channel conv_transpose2d output");
  expect_same(m1.dx, m2.dx, "1-channel conv_transpose2d input gradient");
  expect_same(m1.dw, m2.dw, "1-channel conv_transpose2d weight gradient");
  set_num_threads(before);
}

TEST_CASE("element-wise ops and Adam shared out over threads give one thread's bits") {
  // 3 x 40000 elements: above kParallelGrain, so 2 threads cut the range.
  const int before = num_threads();
  const auto run = [](int threads) {
    set_num_threads(threads);
    Rng rng(11);
    Var<float> x(Tensor<float>::randn({3, 40000}, rng), true);
    const Tensor<float> upstream = Tensor<float>::randn({3, 40000}, rng);
    Rng drop(5);
    backward(sigmoid(tanh(relu(dropout(leaky_relu(x, 0.2f), 0.3, drop, true)))), upstream);
    optim::Adam<float> adam({x}, optim::AdamOptions(0.01));
    adam.step();
    return std::vector<float>(x.value().begin(), x.value().end());
  };
  const std::vector<float> one = run(1), two = run(2);
  set_num_threads(before);
  REQUIRE(one.size() == two.size());
  CHECK(std::equal(one.begin(), one.end(), two.begin()));
}
