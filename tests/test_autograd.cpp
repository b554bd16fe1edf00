// The tape: accumulation, detach, no-grad, freeing the graph, skipped work.
#include <doctest/doctest.h>

#include "tinygan/gan.hpp"

using namespace tinygan;

TEST_CASE("a value used twice receives the sum of its gradients") {
  Var<double> x(Tensor<double>::from({3}, {1.0, 2.0, 3.0}), true);
  // loss = sum(x * x) + sum(3 x): d/dx = 2x + 3
  const Var<double> loss = add(sum(mul(x, x)), sum(scale(x, 3.0)));
  backward(loss);
  CHECK(x.grad()[0] == doctest::Approx(5));
  CHECK(x.grad()[1] == doctest::Approx(7));
  CHECK(x.grad()[2] == doctest::Approx(9));
}

TEST_CASE("gradients accumulate across backward calls until zeroed") {
  Var<double> x(Tensor<double>::from({2}, {1.0, -1.0}), true);
  backward(sum(scale(x, 2.0)));
  backward(sum(scale(x, 2.0)));
  CHECK(x.grad()[0] == doctest::Approx(4));
  x.zero_grad();
  CHECK(x.grad()[0] == 0);
}

TEST_CASE("detach and no-grad cut the graph") {
  Var<double> x(Tensor<double>::from({2}, {1.0, 2.0}), true);
  const Var<double> y = scale(x, 2.0);
  CHECK(y.requires_grad());
  const Var<double> d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.value()[1] == 4.0);
  {
    NoGrad no_grad;
    const Var<double> z = scale(x, 2.0);
    CHECK_FALSE(z.requires_grad());
    CHECK(z.node().inputs.empty());
  }
  CHECK(grad_enabled());
  // Only the path through x carries a gradient.
  Var<double> w(Tensor<double>::from({2}, {3.0, 4.0}), true);
  backward(sum(mul(d, w)));
  CHECK(w.grad()[0] == doctest::Approx(2));
  CHECK_FALSE(x.has_grad());
}

TEST_CASE("backward frees the graph and refuses to run twice") {
  Var<double> x(Tensor<double>::from({2}, {1.0, 2.0}), true);
  const Var<double> hidden = tanh(x);
  const Var<double> loss = sum(hidden);
  backward(loss);
  CHECK(hidden.node().inputs.empty());
  CHECK_FALSE(static_cast<bool>(hidden.node().backward));
  CHECK_THROWS_AS(backward(loss), Error);
}

TEST_CASE("inputs that need no gradient get none computed") {
  Var<float> x(Tensor<float>::full({2, 3}, 1.0f), false);  // data, as a first layer sees it
  Var<float> w(Tensor<float>::full({4, 3}, 0.5f), true);
  backward(sum(linear(x, w)));
  CHECK_FALSE(x.has_grad());
  CHECK(w.grad()[0] == doctest::Approx(2));
}

TEST_CASE("a frozen parameter gets no gradient but its input still does") {
  Var<float> x(Tensor<float>::full({2, 3}, 1.0f), true);
  Var<float> w(Tensor<float>::full({4, 3}, 0.5f), false);
  backward(sum(linear(x, w)));
  CHECK_FALSE(w.has_grad());
  CHECK(x.grad()[0] == doctest::Approx(2));
}

TEST_CASE("ops on constants record nothing") {
  const Var<float> a(Tensor<float>::full({2}, 1.0f));
  const Var<float> b = add(a, a);
  CHECK_FALSE(b.requires_grad());
  CHECK(b.node().inputs.empty());
  CHECK_THROWS_AS(backward(sum(b)), Error);
}

TEST_CASE("reusing a value whose graph an earlier backward freed is refused") {
  Var<double> w(Tensor<double>::from({2}, {1.0, 2.0}), true);
  const Var<double> h = mul(w, w);  // e.g. a batch of fakes used by both GAN steps
  backward(sum(h));
  CHECK_THROWS_WITH_AS(backward(sum(h)), doctest::Contains("already freed"), Error);
  // Detaching for the first use keeps the graph for the second.
  const Var<double> h2 = mul(w, w);
  Var<double> v(Tensor<double>::from({2}, {1.0, 1.0}), true);
  backward(sum(mul(h2.detach(), v)));
  w.zero_grad();
  backward(sum(h2));
  CHECK(w.grad()[1] == doctest::Approx(4));
}

TEST_CASE("zero_grad forgets gradients so an unused parameter is not stepped") {
  Var<float> used(Tensor<float>::full({2}, 1.0f), true), unused(Tensor<float>::full({2}, 1.0f), true);
  optim::Adam<float> adam({used, unused}, optim::AdamOptions(0.1));
  backward(sum(add(used, unused)));
  adam.step();
  adam.zero_grad();
  const float unused_before = unused.value()[0];
  backward(sum(scale(used, 2.0f)));  // unused receives nothing this time
  CHECK_FALSE(unused.has_grad());
  adam.step();
  CHECK(unused.value()[0] == unused_before);
  CHECK(adam.state()[1].step == 1);
  CHECK(adam.state()[0].step == 2);
}

TEST_CASE("an undefined Var is refused with a clear error") {
  nn::Dense<float> dense(4, 3);
  CHECK_THROWS_WITH_AS(dense(Var<float>()), doctest::Contains("undefined Var"), Error);
}

TEST_CASE("an empty batch flows through a layer") {
  nn::Dense<float> dense(4, 3);
  const Var<float> y = dense(Var<float>(Tensor<float>(Shape{0, 4})));
  CHECK(y.shape() == Shape{0, 3});
  CHECK(flatten(Var<float>(Tensor<float>(Shape{0, 1, 28, 28}))).shape() == Shape{0, 784});
}

TEST_CASE("backward from an upstream gradient is the gradient of sum(output * upstream)") {
  Rng rng(3);
  Var<double> x(Tensor<double>::randn({4, 3}, rng), true), w(Tensor<double>::randn({2, 3}, rng), true);
  const Tensor<double> upstream = Tensor<double>::randn({4, 2}, rng);
  backward(linear(x, w), upstream);
  const Tensor<double> dx = x.grad(), dw = w.grad();
  x.zero_grad();
  w.zero_grad();
  backward(sum(mul(linear(x, w), Var<double>(upstream))));
  for (Index i = 0; i < dx.numel(); ++i) CHECK(dx[i] == doctest::Approx(x.grad()[i]).epsilon(1e-14));
  for (Index i = 0; i < dw.numel(); ++i) CHECK(dw[i] == doctest::Approx(w.grad()[i]).epsilon(1e-14));
  // A second upstream pass adds to what is there, as every gradient does.
  backward(linear(x, w), upstream);
  for (Index i = 0; i < dw.numel(); ++i) CHECK(w.grad()[i] == doctest::Approx(2 * dw[i]).epsilon(1e-14));
  CHECK_THROWS_WITH_AS(backward(linear(x, w), Tensor<double>::zeros({2, 4})),
                       doctest::Contains("expected an upstream gradient of shape [4, 2], found [2, 4]"), Error);
}
