// Misuse raises tinygan::Error with a message naming the op and the shapes.
#include <doctest/doctest.h>

#include <cmath>

#include "test_util.hpp"
#include "tinygan/gan.hpp"
#include "models/dense.hpp"

using namespace tinygan;
using namespace tinygan::testing;

TEST_CASE("shape mismatches name the op and both shapes") {
  const Var<float> a(Tensor<float>(Shape{2, 3})), b(Tensor<float>(Shape{3, 2}));
  std::string msg = error_of([&] { add(a, b); });
  CHECK(contains(msg, "add"));
  CHECK(contains(msg, "[2, 3]"));
  CHECK(contains(msg, "[3, 2]"));

  const Var<float> w(Tensor<float>(Shape{4, 5}));
  msg = error_of([&] { linear(a, w); });
  CHECK(contains(msg, "linear"));
  CHECK(contains(msg, "[4, 5]"));
  CHECK(contains(msg, "[2, 3]"));

  nn::Dense<float> dense(10, 4);
  msg = error_of([&] { dense(a); });
  CHECK(contains(msg, "Dense(10 -> 4)"));
  CHECK(contains(msg, "[N, 10]"));
  CHECK(contains(msg, "[2, 3]"));
}

TEST_CASE("wrong rank and wrong channels for convolutions") {
  const Var<float> flat(Tensor<float>(Shape{2, 784}));
  nn::Conv2D<float> conv(nn::Conv2DOptions(1, 8, 5));
  std::string msg = error_of([&] { conv(flat); });
  CHECK(contains(msg, "conv2d"));
  CHECK(contains(msg, "[N, C, H, W]"));
  CHECK(contains(msg, "[2, 784]"));

  const Var<float> three(Tensor<float>(Shape{1, 3, 8, 8}));
  msg = error_of([&] { conv(three); });
  CHECK(contains(msg, "[8, 1, 5, 5]"));
  CHECK(contains(msg, "3"));

  nn::Conv2DTranspose<float> convt(nn::Conv2DTransposeOptions(4, 2, 3).stride(2).output_padding(2));
  msg = error_of([&] { convt(Var<float>(Tensor<float>(Shape{1, 4, 3, 3}))); });
  CHECK(contains(msg, "output_padding"));
}

TEST_CASE("backward on a non-scalar and an optimizer with no parameters") {
  Var<float> x(Tensor<float>(Shape{2, 2}), true);
  std::string msg = error_of([&] { backward(tanh(x)); });
  CHECK(contains(msg, "backward"));
  CHECK(contains(msg, "scalar"));
  CHECK(contains(msg, "[2, 2]"));

  msg = error_of([] { optim::Adam<float> adam({}); });
  CHECK(contains(msg, "Adam"));
  CHECK(contains(msg, "no parameters"));
  msg = error_of([&] { optim::Adam<float> adam({x}, optim::AdamOptions(-1.0)); });
  CHECK(contains(msg, "lr"));
}

TEST_CASE("losses, batch norm, reshape and dropout refuse bad arguments") {
  const Var<float> p(Tensor<float>(Shape{4, 1}, 0.5f));
  std::string msg = error_of([&] { bce(p, Tensor<float>(Shape{2, 1})); });
  CHECK(contains(msg, "bce"));
  CHECK(contains(msg, "[4, 1]"));
  CHECK(contains(msg, "[2, 1]"));

  nn::BatchNorm<float> bn(16);
  msg = error_of([&] { bn(Var<float>(Tensor<float>(Shape{4, 8}))); });
  CHECK(contains(msg, "BatchNorm(16)"));
  CHECK(contains(msg, "[4, 8]"));
  msg = error_of([&] { bn(Var<float>(Tensor<float>(Shape{1, 16}))); });
  CHECK(contains(msg, "more than one value per channel"));

  nn::Reshape<float> r({3, 3});
  msg = error_of([&] { r(Var<float>(Tensor<float>(Shape{2, 10}))); });
  CHECK(contains(msg, "Reshape"));
  CHECK(contains(msg, "[2, 10]"));

  msg = error_of([] { nn::Dropout<float> d(1.0); });
  CHECK(contains(msg, "Dropout"));
  CHECK(contains(msg, "[0, 1)"));

  msg = error_of([] { set_num_threads(0); });
  CHECK(contains(msg, "set_num_threads"));
}

TEST_CASE("losses stay finite at the edges") {
  const Var<float> edge(Tensor<float>::from({4, 1}, {0.0f, 1.0f, 0.0f, 1.0f}), true);
  const Tensor<float> labels = Tensor<float>::from({4, 1}, {1.0f, 0.0f, 0.0f, 1.0f});
  const Var<float> l = bce(edge, labels);
  CHECK(std::isfinite(l.value()[0]));
  backward(l);
  for (float g : edge.grad()) CHECK(std::isfinite(g));

  const Var<float> below(Tensor<float>::from({3, 1}, {-1.0f, -5.0f, 0.5f}), true);
  const Var<float> m = msle(below, Tensor<float>::from({3, 1}, {1.0f, 1.0f, 1.0f}));
  CHECK(std::isfinite(m.value()[0]));
  backward(m);
  for (float g : below.grad()) CHECK(std::isfinite(g));

  const Var<float> huge(Tensor<float>::from({2, 1}, {200.0f, -200.0f}), true);
  const Var<float> l2 = bce_with_logits(huge, Tensor<float>::from({2, 1}, {0.0f, 1.0f}));
  CHECK(l2.value()[0] == doctest::Approx(200.0f));
}

TEST_CASE("bce behind a sigmoid passes p - y even for a confidently rejected fake") {
  // G's gradient when D scores its fakes near 0: logits -12 .. -20 give
  // p from 6e-6 down to 2e-9, below Keras's 1e-7 clamp, and d loss / d logit
  // must still be (p - 1) / n, about -1/n, not shrunk by p / 1e-7.
  const Var<float> logits(Tensor<float>::from({3, 1}, {-12.0f, -16.0f, -20.0f}), true);
  const Var<float> loss = bce(sigmoid(logits), Tensor<float>::full({3, 1}, 1.0f));
  CHECK(loss.value()[0] == doctest::Approx((12.0 + 16.0 + 20.0) / 3).epsilon(1e-4));
  backward(loss);
  for (Index i = 0; i < 3; ++i) {
    const double p = 1 / (1 + std::exp(-static_cast<double>(logits.value()[i])));
    CHECK(logits.grad()[i] == doctest::Approx((p - 1) / 3).epsilon(1e-4));
  }
}

TEST_CASE("a kernel larger than the padded image is refused") {
  const Var<float> x(Tensor<float>(Shape{1, 1, 4, 4}));
  const Var<float> w(Tensor<float>(Shape{1, 1, 5, 5}));
  const std::string msg = error_of([&] { conv2d(x, w, {}, 2, 0); });
  CHECK(contains(msg, "conv2d"));
  CHECK(contains(msg, "does not fit"));
  CHECK(error_of([] { Rng(1).below(0); }).find("positive bound") != std::string::npos);
}

TEST_CASE("summary restores every module's mode even when a forward throws") {
  auto d = mnist::dense_discriminator<float>(*std::make_unique<Rng>(1));
  CHECK_THROWS_AS(nn::summary(*d, Shape{10}), Error);  // D expects 784 features
  d->visit([](nn::Module<float>& m) { CHECK(m.is_training()); });
}

TEST_CASE("weights of another shape name the first tensor that does not fit, both shapes, and change nothing") {
  const std::string path = temp_path("dense_4_3.safetensors");
  nn::Dense<float> saved(4, 3);
  io::save_weights(path, saved);
  nn::Dense<float> wider(4, 5);
  const Tensor<float> before = wider.named_parameters()[0].second.value();
  const std::string msg = error_of([&] { io::load_weights(path, wider); });
  CHECK(contains(msg, path));
  CHECK(contains(msg, "tensor 'weight' has shape [3, 4] but the model expects [5, 4]"));
  const Tensor<float> after = wider.named_parameters()[0].second.value();
  for (Index i = 0; i < before.numel(); ++i) CHECK(after[i] == before[i]);

  nn::Dense<float> no_bias(nn::DenseOptions(4, 3).bias(false));
  CHECK(contains(error_of([&] { io::load_weights(path, no_bias); }), "tensor 'bias' of shape [3] has no place"));
  std::filesystem::remove(path);
}
