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
  struct Case {
    const char* name;
    Shape x, w;
    bool transposed;
    Index stride = 2;
  };
  const Case cases[] = {
      {"conv2d", {5, 32, 14, 13}, {48, 32, 5, 5}, false},
      {"conv_transpose2d", {5, 48, 7, 7}, {48, 32, 5, 5}, true},
      // One input (output) channel: sample_conv.hpp's per-sample lowering, 64x64 so the work is shared out.
      {"1-channel conv2d", {5, 1, 64, 64}, {64, 1, 5, 5}, false},
      {"1-channel conv_transpose2d", {5, 64, 32, 32}, {64, 1, 5, 5}, true},
      // Stride 1: winograd_conv.hpp, tiles shared out by sample, transform points by thread.
      {"Winograd conv_transpose2d", {5, 48, 7, 7}, {48, 32, 5, 5}, true, 1},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const Index s = c.stride, output_padding = s - 1;
    const auto op = [&](const Var<double>& x, const Var<double>& w) {
      return c.transposed ? conv_transpose2d(x, w, {}, s, 2, output_padding) : conv2d(x, w, {}, s, 2);
    };
    const ConvResult one = run_conv(1, c.x, c.w, op);
    const ConvResult two = run_conv(2, c.x, c.w, op);
    expect_same(one.out, two.out, "output");
    expect_same(one.dx, two.dx, "input gradient");
    expect_same(one.dw, two.dw, "weight gradient");
  }
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
