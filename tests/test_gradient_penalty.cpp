// The R1 gradient penalty (gan/gradient_penalty.hpp): its value is
// gamma / 2 times the batch mean of |d sum(logit) / dx|^2, with that gradient
// taken by central differences, and its gradient with respect to D's weights
// matches finite differences of the penalty itself; on a dense D, on a
// convolutional D with BatchNorm in train mode, and on a conditional D.
#include <doctest/doctest.h>

#include "gradcheck.hpp"
#include "small_gan.hpp"

using namespace tinygan;

namespace {

// D as the dense models build it: Flatten, Dense layers with both piecewise-linear
// activations, a final Sigmoid (the penalty skips it).
std::shared_ptr<nn::Sequential<double>> r1_discriminator() {
  auto d = std::make_shared<nn::Sequential<double>>();
  d->add(nn::Flatten<double>())
      .add(nn::Dense<double>(12, 7)).add(nn::LeakyReLU<double>(0.2))
      .add(nn::Dense<double>(7, 5)).add(nn::ReLU<double>())
      .add(nn::Dense<double>(5, 1)).add(nn::Sigmoid<double>());
  Rng rng(7);
  d->initialize(rng);
  return d;
}

Tensor<double> r1_batch() {
  Rng rng(8);
  return Tensor<double>::randn({4, 3, 4}, rng);
}

// A DCGAN-shaped D: convolutions, BatchNorm in train mode (which couples the
// samples of a batch), LeakyReLU, a Dense head, a final Sigmoid.
std::shared_ptr<nn::Sequential<double>> r1_conv_discriminator() {
  auto d = std::make_shared<nn::Sequential<double>>();
  d->add(nn::Reshape<double>({1, 3, 4}))
      .add(nn::Conv2D<double>(nn::Conv2DOptions(1, 3, 3).stride(2).padding(1))).add(nn::LeakyReLU<double>(0.2))
      .add(nn::Conv2D<double>(nn::Conv2DOptions(3, 4, 3).padding(1))).add(nn::BatchNorm<double>(4))
      .add(nn::LeakyReLU<double>(0.2)).add(nn::Flatten<double>())
      .add(nn::Dense<double>(16, 1)).add(nn::Sigmoid<double>());
  Rng rng(9);
  d->initialize(rng);
  return d;
}

// The sum of D's logits over the batch (all layers but the final Sigmoid).
double logit_sum(nn::Sequential<double>& d, const Tensor<double>& x) {
  NoGrad no_grad;
  Var<double> h(x);
  for (std::size_t i = 0; i + 1 < d.size(); ++i) h = d[i](h);
  return h.value().array().sum();
}

// gamma / 2 * mean over the batch of |d sum(logit) / dx_n|^2, by central differences.
double numeric_r1(nn::Sequential<double>& d, Tensor<double> x, double gamma) {
  const double step = 1e-6;
  double total = 0;
  for (Index at = 0; at < x.numel(); ++at) {
    const double saved = x[at];
    x[at] = saved + step;
    const double up = logit_sum(d, x);
    x[at] = saved - step;
    const double down = logit_sum(d, x);
    x[at] = saved;
    total += std::pow((up - down) / (2 * step), 2);
  }
  return gamma / 2 * total / static_cast<double>(x.dim(0));
}

// The weights' gradient of the penalty against finite differences (the
// penalty is built with grad(), so the checker's objective records its graph).
void expect_weight_gradients(const char* what, nn::Sequential<double>& d, const Tensor<double>& x, double step) {
  testing::Vars weights;
  for (const auto& [name, p] : d.named_parameters()) weights.push_back(p);
  const auto r = testing::gradcheck([&](const testing::Vars&) { return gan::r1_penalty(d, x, 2.0); }, weights, step,
                                    true);
  INFO(what << ": worst at " << r.worst_at);
  CHECK(r.checked > 0);
  CHECK(r.worst_error < 1e-6);
}

}  // namespace

TEST_CASE("R1 penalty: gamma/2 times the batch mean of |d sum(logit)/dx|^2, by central differences") {
  const Tensor<double> x = r1_batch();
  const double gamma = 3.0;
  for (auto d : {r1_discriminator(), r1_conv_discriminator()}) {
    const double expected = numeric_r1(*d, x, gamma);
    const Var<double> penalty = gan::r1_penalty(*d, x, gamma);
    CHECK(penalty.shape() == Shape{});
    CHECK(expected > 0.01);  // the case is not vacuous
    CHECK(penalty.value()[0] == doctest::Approx(expected).epsilon(1e-7));
  }
}

TEST_CASE("R1 penalty: its gradient with respect to D's weights matches finite differences") {
  const Tensor<double> x = r1_batch();
  // The slopes are constant between kinks, so a small step stays on one linear piece.
  expect_weight_gradients("dense D", *r1_discriminator(), x, 1e-7);
  expect_weight_gradients("convolutional D with BatchNorm in train mode", *r1_conv_discriminator(), x, 1e-7);
}

TEST_CASE("R1 penalty on a conditional D: the projection D with its labels") {
  auto body = std::make_shared<nn::Sequential<double>>();
  body->add(nn::Conv2D<double>(nn::Conv2DOptions(1, 2, 3).stride(2).padding(1))).add(nn::LeakyReLU<double>(0.2))
      .add(nn::Flatten<double>());
  nn::ProjectionDiscriminator<double> d(body, 2 * 2 * 2, 3, true);
  Rng rng(11);
  d.initialize(rng);
  const Tensor<double> x = Tensor<double>::randn({4, 1, 4, 4}, rng);
  const Tensor<double> labels = Tensor<double>::from({4}, {2, 0, 1, 2});
  Tensor<double> shifted = x;
  const auto logits = [&](const Tensor<double>& at) {
    NoGrad no_grad;
    return d(Var<double>(at), labels).value().array().sum();
  };
  double total = 0;
  for (Index i = 0; i < x.numel(); ++i) {
    shifted[i] = x[i] + 1e-6;
    const double up = logits(shifted);
    shifted[i] = x[i] - 1e-6;
    const double down = logits(shifted);
    shifted[i] = x[i];
    total += std::pow((up - down) / 2e-6, 2);
  }
  const double penalty = gan::r1_penalty(d, x, 2.0, /*outputs_logits=*/true, &labels).value()[0];
  CHECK(total > 0.01);
  CHECK(penalty == doctest::Approx(total / 4).epsilon(1e-7));
}

TEST_CASE("R1 penalty: a discriminator it cannot run through is refused by name") {
  Rng rng(3);
  auto wide = std::make_shared<nn::Sequential<float>>();
  wide->add(nn::Dense<float>(9, 2));
  wide->initialize(rng);
  CHECK_THROWS_WITH_AS(gan::r1_penalty(*wide, Tensor<float>::zeros({5, 9}), 1.0f, /*outputs_logits=*/true),
                       doctest::Contains("expected one logit per sample [5, 1], found [5, 2]"), Error);
  // Declared to output probabilities, D must end in the Sigmoid the penalty looks past.
  CHECK_THROWS_WITH_AS(gan::r1_penalty(*wide, Tensor<float>::zeros({5, 9}), 1.0f),
                       doctest::Contains("must end in a Sigmoid"), Error);
  gan::Recipe recipe;
  recipe.r1_gamma = 1;
  auto no_sigmoid = testing::discriminator(rng, gan::DiscriminatorOutput::logits);
  gan::Trainer trainer(testing::generator(rng), no_sigmoid, recipe);  // declared: probabilities
  const testing::SmallBatches b(rng);
  CHECK_THROWS_WITH_AS(trainer.d_step(b.real, b.noise), doctest::Contains("its output comes from 'linear'"), Error);
}

TEST_CASE("R1 penalty in the Trainer: D's step adds it to its loss and it flattens D around the data") {
  Rng rng(2);
  const testing::SmallBatches b(rng);
  gan::Recipe plain;
  plain.lr_d = 1e-2;  // D learns fast, so a few steps tell the two apart
  gan::Recipe penalized = plain;
  penalized.r1_gamma = 10;
  gan::Trainer without = testing::trainer_with(plain), with = testing::trainer_with(penalized);
  const double penalty = gan::r1_penalty(with.discriminator(), b.real, 10.0f).value()[0];
  const gan::StepStats s0 = without.d_step(b.real, b.noise), s1 = with.d_step(b.real, b.noise);
  CHECK(penalty > 1e-3);
  CHECK(s1.d_loss == doctest::Approx(s0.d_loss + penalty).epsilon(1e-5));
  for (int i = 0; i < 100; ++i) {
    without.d_step(b.real, b.noise);
    with.d_step(b.real, b.noise);
  }
  CHECK(gan::r1_penalty(with.discriminator(), b.real, 1.0f).value()[0] <
        0.5 * gan::r1_penalty(without.discriminator(), b.real, 1.0f).value()[0]);
}

TEST_CASE("Lazy R1: the penalty in every k-th iteration only, weighted k times") {
  Rng rng(4);
  const testing::SmallBatches b(rng);
  gan::Recipe lazy;
  lazy.r1_gamma = 10;
  lazy.r1_every = 2;
  gan::Trainer trainer = testing::trainer_with(lazy);
  // D's loss without the penalty, from the trainer's own G and D as they stand.
  const auto plain_loss = [&] {
    NoGrad no_grad;
    const Var<float> fake = trainer.generator()(Var<float>(b.noise));
    const Tensor<float> ones = Tensor<float>::full({5, 1}, 1.0f), zeros({5, 1});
    return 0.5 * (bce(trainer.discriminator()(Var<float>(b.real)), ones).value()[0] +
                  bce(trainer.discriminator()(fake), zeros).value()[0]);
  };
  for (int iteration = 0; iteration < 4; ++iteration) {
    const double penalty = gan::r1_penalty(trainer.discriminator(), b.real, 20.0f).value()[0];  // 2 x gamma
    const double expected = plain_loss() + (iteration % 2 == 0 ? penalty : 0.0);
    CHECK(penalty > 1e-3);
    CHECK(trainer.d_step(b.real, b.noise).d_loss == doctest::Approx(expected).epsilon(1e-5));
    trainer.g_step(b.g_noise);
  }
}
