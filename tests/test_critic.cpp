// The losses and penalties of critics: the Wasserstein and hinge losses in the
// Trainer, WGAN-GP's penalty on interpolates, and spectral normalization
// (against PyTorch's torch.nn.utils.spectral_norm and by finite differences).
#include <doctest/doctest.h>

#include "golden.hpp"
#include "gradcheck.hpp"
#include "small_gan.hpp"
#include "models/dcgan.hpp"

using namespace tinygan;

namespace {

// The small trainer's D on raw scores, with a recipe's loss.
gan::Trainer critic_trainer(gan::AdversarialLoss loss, double gp_lambda = 0) {
  gan::Recipe recipe;
  recipe.loss = loss;
  recipe.d_logits = true;
  recipe.gp_lambda = gp_lambda;
  return testing::trainer_with(recipe);
}

// D's scores of the reals and of G's fakes, without changing anything.
std::pair<Tensor<float>, Tensor<float>> scores(gan::Trainer& t, const testing::SmallBatches& b) {
  NoGrad no_grad;
  const Var<float> fake = t.generator()(Var<float>(b.noise));
  return {t.discriminator()(Var<float>(b.real)).value(), t.discriminator()(fake).value()};
}

double mean_of(const Tensor<float>& t, double (*f)(double)) {
  double total = 0;
  for (float v : t) total += f(v);
  return total / static_cast<double>(t.numel());
}

}  // namespace

TEST_CASE("Wasserstein and hinge losses: D's and G's losses are the formulas written out") {
  Rng rng(5);
  const testing::SmallBatches b(rng);
  {
    gan::Trainer t = critic_trainer(gan::AdversarialLoss::wasserstein);
    const auto [real, fake] = scores(t, b);
    const double expected = mean_of(fake, [](double s) { return s; }) - mean_of(real, [](double s) { return s; });
    CHECK(t.d_step(b.real, b.noise).d_loss == doctest::Approx(expected).epsilon(1e-5));
  }
  {
    gan::Trainer t = critic_trainer(gan::AdversarialLoss::hinge);
    const auto [real, fake] = scores(t, b);
    const double expected = mean_of(real, [](double s) { return std::max(0.0, 1 - s); }) +
                            mean_of(fake, [](double s) { return std::max(0.0, 1 + s); });
    CHECK(expected > 0.5);
    CHECK(t.d_step(b.real, b.noise).d_loss == doctest::Approx(expected).epsilon(1e-5));
    // G's loss for both: minus the mean score of its fakes, through the D just updated.
    double g_expected = 0;
    {
      NoGrad no_grad;
      const Var<float> g_fake = t.generator()(Var<float>(b.g_noise));
      g_expected = -mean_of(t.discriminator()(g_fake).value(), [](double s) { return s; });
    }
    CHECK(t.g_step(b.g_noise) == doctest::Approx(g_expected).epsilon(1e-5));
  }
}

TEST_CASE("Wasserstein and hinge losses need D's raw score; WGAN-GP refuses BatchNorm by name") {
  Rng rng(6);
  gan::Recipe recipe;
  recipe.loss = gan::AdversarialLoss::hinge;  // d_logits left off: D ends in a Sigmoid
  CHECK_THROWS_WITH_AS(gan::Trainer(testing::generator(rng), testing::discriminator(rng), recipe),
                       doctest::Contains("the hinge loss needs D's raw score"), Error);
  recipe.loss = gan::AdversarialLoss::wasserstein;
  recipe.d_logits = true;
  recipe.gp_lambda = 10;
  auto with_bn = std::make_shared<nn::Sequential<float>>();
  with_bn->add(nn::Dense<float>(9, 8)).add(nn::BatchNorm<float>(8)).add(nn::LeakyReLU<float>(0.2)).add(
      nn::Dense<float>(8, 1));
  CHECK_THROWS_WITH_AS(gan::Trainer(testing::generator(rng), with_bn, recipe),
                       doctest::Contains("discriminator layer 1 is BatchNorm"), Error);
  CHECK_NOTHROW(gan::Trainer(testing::generator(rng), mnist::dcgan_critic<float>(rng, false), recipe));
}

TEST_CASE("WGAN-GP penalty: lambda times the mean of (|d score/dx| - 1)^2, and its weight gradients") {
  auto d = std::make_shared<nn::Sequential<double>>();
  d->add(nn::Dense<double>(6, 5)).add(nn::LeakyReLU<double>(0.2)).add(nn::Dense<double>(5, 4)).add(
      nn::Tanh<double>()).add(nn::Dense<double>(4, 1));
  Rng rng(7);
  d->initialize(rng);
  Tensor<double> x = Tensor<double>::randn({3, 6}, rng);
  const auto penalty_at = [&](const Tensor<double>& at) {
    const Var<double> in(at, true);
    return gan::wgan_gp_penalty(in, (*d)(in), 10.0);
  };
  // |d D(x_n) / dx_n| by central differences, sample by sample.
  double expected = 0;
  for (Index n = 0; n < 3; ++n) {
    double squared = 0;
    for (Index j = 0; j < 6; ++j) {
      const double saved = x[n * 6 + j];
      const auto score = [&](double v) {
        x[n * 6 + j] = v;
        NoGrad no_grad;
        return (*d)(Var<double>(x)).value()[n];
      };
      const double slope = (score(saved + 1e-6) - score(saved - 1e-6)) / 2e-6;
      x[n * 6 + j] = saved;
      squared += slope * slope;
    }
    expected += std::pow(std::sqrt(squared) - 1, 2);
  }
  expected *= 10.0 / 3;
  CHECK(expected > 0.1);
  CHECK(penalty_at(x).value()[0] == doctest::Approx(expected).epsilon(1e-7));
  const auto r = testing::gradcheck([&](const testing::Vars&) { return penalty_at(x); }, d->parameters(), 1e-6, true);
  INFO("WGAN-GP penalty's weight gradients: worst at " << r.worst_at);
  CHECK(r.worst_error < 1e-6);
}

TEST_CASE("WGAN-GP in the Trainer: the penalty joins D's loss, drawn the same after a resume") {
  Rng rng(8);
  const testing::SmallBatches b(rng);
  gan::Trainer plain = critic_trainer(gan::AdversarialLoss::wasserstein);
  gan::Trainer penalized = critic_trainer(gan::AdversarialLoss::wasserstein, 10);
  gan::Trainer again = critic_trainer(gan::AdversarialLoss::wasserstein, 10);
  const double d0 = plain.d_step(b.real, b.noise).d_loss, d1 = penalized.d_step(b.real, b.noise).d_loss;
  CHECK(d1 > d0 + 1e-3);  // the penalty is positive
  CHECK(again.d_step(b.real, b.noise).d_loss == d1);  // the interpolates are drawn from the iteration
}

TEST_CASE("Spectral normalization: PyTorch's names, sigma of the normalized weight near 1") {
  Rng rng(9);
  nn::Dense<double> dense(nn::DenseOptions(7, 5).spectral_norm(true));
  nn::Conv2DTranspose<double> convt(nn::Conv2DTransposeOptions(3, 4, 3).spectral_norm(true));
  dense.initialize(rng);
  convt.initialize(rng);
  const auto names = [](const nn::Module<double>& m) {
    std::vector<std::string> out;
    for (const auto& [n, p] : m.named_parameters()) out.push_back(n);
    for (const auto& [n, p] : m.named_buffers()) out.push_back(n);
    return out;
  };
  CHECK(names(dense) == std::vector<std::string>{"weight_orig", "bias", "weight_u", "weight_v"});
  CHECK(convt.named_buffers()[0].second.shape() == Shape{4});       // u: along dim 1, the output channels
  CHECK(convt.named_buffers()[1].second.shape() == Shape{3 * 3 * 3});  // v: the rest
  // After enough training passes u and v converge, and the layer computes with
  // W / sigma for W's largest singular value sigma (an SVD in double here).
  const Tensor<double> x = Tensor<double>::randn({2, 7}, rng);
  for (int i = 0; i < 50; ++i) dense(Var<double>(x));
  dense.eval();
  const Tensor<double> y = dense(Var<double>(x)).value();
  Eigen::MatrixXd w(5, 7), xs(2, 7), ys(2, 5);
  for (Index i = 0; i < 35; ++i) w(i / 7, i % 7) = dense.weight().value()[i];
  for (Index i = 0; i < 14; ++i) xs(i / 7, i % 7) = x[i];
  for (Index i = 0; i < 10; ++i) ys(i / 5, i % 5) = y[i] - dense.bias().value()[i % 5];
  const double sigma = Eigen::JacobiSVD<Eigen::MatrixXd>(w).singularValues()(0);
  CHECK(sigma > 0.1);
  CHECK((xs * (w / sigma).transpose() - ys).norm() < 1e-9 * ys.norm());
}

TEST_CASE("Spectral normalization: first- and second-order gradients by finite differences (fixed u and v)") {
  Rng rng(10);
  nn::Conv2D<double> conv(nn::Conv2DOptions(2, 3, 3).stride(2).padding(1).spectral_norm(true));
  nn::Dense<double> dense(nn::DenseOptions(4, 3).spectral_norm(true));
  conv.initialize(rng);
  dense.initialize(rng);
  conv.eval();  // no power iteration: every evaluation sees the same u and v
  dense.eval();
  testing::Vars conv_in{testing::random_leaf({2, 2, 5, 5}, 11)};
  for (auto& p : conv.parameters()) conv_in.push_back(p);
  testing::expect_gradients("spectral-norm Conv2D", [&](const testing::Vars& v) { return conv(v[0]); }, conv_in);
  testing::expect_second_order("spectral-norm Conv2D", [&](const testing::Vars& v) { return tanh(conv(v[0])); },
                               conv_in);
  testing::Vars dense_in{testing::random_leaf({3, 4}, 12)};
  for (auto& p : dense.parameters()) dense_in.push_back(p);
  testing::expect_gradients("spectral-norm Dense", [&](const testing::Vars& v) { return dense(v[0]); }, dense_in);
  testing::expect_second_order("spectral-norm Dense", [&](const testing::Vars& v) { return tanh(dense(v[0])); },
                               dense_in);
}

TEST_CASE("parity spectral normalization with torch.nn.utils.spectral_norm: three SGD steps") {
  const auto f = testing::golden("spectral_norm");
  nn::Sequential<float> d;
  d.add(nn::Conv2D<float>(nn::Conv2DOptions(1, 4, 3).stride(2).padding(1).spectral_norm(true)))
      .add(nn::LeakyReLU<float>(0.2f))
      .add(nn::Conv2DTranspose<float>(nn::Conv2DTransposeOptions(4, 2, 4).stride(2).padding(1).spectral_norm(true)))
      .add(nn::LeakyReLU<float>(0.2f))
      .add(nn::Flatten<float>())
      .add(nn::Dense<float>(nn::DenseOptions(2 * 8 * 8, 1).spectral_norm(true)));
  for (auto& [name, p] : d.named_parameters()) p.value() = f.at("start." + name);
  for (auto& [name, b] : d.named_buffers()) b.value() = f.at("start." + name);
  optim::SGD<float> sgd(d.parameters(), optim::SGDOptions(0.1));
  const Var<float> x(f.at("x"));
  for (int step = 0; step < 3; ++step) {
    sgd.zero_grad();
    const Var<float> y = d(x);
    backward(mean(mul(y, y)));
    sgd.step();
    if (step != 1) testing::expect_close(y.value(), f.at("y" + std::to_string(step)), "output, step " + std::to_string(step), 1e-4);
  }
  for (auto& [name, p] : d.named_parameters()) testing::expect_close(p.value(), f.at("end." + name), name, 1e-4);
  for (auto& [name, b] : d.named_buffers()) testing::expect_close(b.value(), f.at("end." + name), name, 1e-4);
}
