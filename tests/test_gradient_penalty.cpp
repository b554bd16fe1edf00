// The R1 gradient penalty (gan/gradient_penalty.hpp): its value is
// gamma / 2 times the batch mean of |d logit / dx|^2, with that gradient
// taken by central differences, and its gradient with respect to D's weights
// matches finite differences of the penalty itself.
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

double logit_of(nn::Sequential<double>& d, const Tensor<double>& x, Index sample) {
  NoGrad no_grad;
  Var<double> h(x);
  for (std::size_t i = 0; i + 1 < d.size(); ++i) h = d[i](h);  // all but the Sigmoid
  return h.value()[sample];
}

}  // namespace

TEST_CASE("R1 penalty: gamma/2 times the batch mean of |d logit/dx|^2, by central differences") {
  auto d = r1_discriminator();
  Tensor<double> x = r1_batch();
  const double gamma = 3.0, step = 1e-6;
  double total = 0;
  const Index batch = x.dim(0), per_sample = x.numel() / batch;
  for (Index n = 0; n < batch; ++n)
    for (Index j = 0; j < per_sample; ++j) {
      const Index at = n * per_sample + j;
      const double saved = x[at];
      x[at] = saved + step;
      const double up = logit_of(*d, x, n);
      x[at] = saved - step;
      const double down = logit_of(*d, x, n);
      x[at] = saved;
      total += std::pow((up - down) / (2 * step), 2);
    }
  const double expected = gamma / 2 * total / static_cast<double>(batch);
  const Var<double> penalty = gan::r1_penalty(*d, x, gamma);
  CHECK(penalty.shape() == Shape{});
  CHECK(expected > 0.01);  // the case is not vacuous
  CHECK(penalty.value()[0] == doctest::Approx(expected).epsilon(1e-7));
}

TEST_CASE("R1 penalty: its gradient with respect to D's weights matches finite differences") {
  auto d = r1_discriminator();
  const Tensor<double> x = r1_batch();
  testing::Vars weights;
  for (const auto& [name, p] : d->named_parameters())
    if (name.find("weight") != std::string::npos) weights.push_back(p);
  REQUIRE(weights.size() == 3);
  // The slopes are constant between kinks, so a small step stays on one linear piece.
  testing::expect_gradients("r1_penalty", [&](const testing::Vars&) { return gan::r1_penalty(*d, x, 2.0); }, weights,
                            1e-6, 1e-7);
}

TEST_CASE("R1 penalty: a discriminator it cannot run through is refused by name") {
  Rng rng(3);
  auto d = std::make_shared<nn::Sequential<float>>();
  d->add(nn::Dense<float>(9, 8)).add(nn::Dropout<float>(0.3)).add(nn::Dense<float>(8, 1)).add(nn::Sigmoid<float>());
  d->initialize(rng);
  gan::Recipe recipe;
  recipe.r1_gamma = 1;
  CHECK_THROWS_WITH_AS(gan::Trainer(testing::generator(rng), d, recipe),
                       doctest::Contains("layer 1 is Dropout"), Error);
  auto wide = std::make_shared<nn::Sequential<float>>();
  wide->add(nn::Dense<float>(9, 2));
  wide->initialize(rng);
  CHECK_THROWS_WITH_AS(gan::r1_penalty(*wide, Tensor<float>::zeros({5, 9}), 1.0f, /*outputs_logits=*/true),
                       doctest::Contains("expected one logit per sample [5, 1], found [5, 2]"), Error);
  // Declared to output probabilities, D must end in the Sigmoid the penalty looks past.
  CHECK_THROWS_WITH_AS(gan::r1_penalty(*wide, Tensor<float>::zeros({5, 9}), 1.0f),
                       doctest::Contains("must end in a Sigmoid"), Error);
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
