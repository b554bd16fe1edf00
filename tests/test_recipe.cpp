// The Trainer's recipe switches beyond docs/models.md: each does what it says.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "small_gan.hpp"
#include "tinygan/gan.hpp"
#include "tinygan/gan/cli.hpp"

using namespace tinygan;
using namespace tinygan::testing;

namespace {
double bce_of(const Tensor<float>& p, double label) {
  double sum = 0;
  for (float v : p) sum -= label * std::log(v) + (1 - label) * std::log(1 - v);
  return sum / static_cast<double>(p.numel());
}
void check_same_weights(const nn::Module<float>& a, const nn::Module<float>& b, double epsilon) {
  const auto wa = a.parameters(), wb = b.parameters();
  for (std::size_t i = 0; i < wa.size(); ++i)
    for (Index k = 0; k < wa[i].numel(); ++k) CHECK(wb[i].value()[k] == doctest::Approx(wa[i].value()[k]).epsilon(epsilon));
}
}  // namespace

TEST_CASE("recipe: one-sided label smoothing makes D's target for reals 1 - s") {
  gan::Recipe recipe;
  recipe.real_label = 0.9;
  gan::Trainer t = trainer_with(recipe);
  Rng rng(2);
  const SmallBatches b(rng);
  // D's outputs before its step, computed the same way the step does (train mode, no dropout here).
  Tensor<float> p_real, p_fake;
  {
    NoGrad no_grad;
    p_real = t.discriminator()(Var<float>(b.real)).value();
    p_fake = t.discriminator()(t.generator()(Var<float>(b.noise))).value();
  }
  const gan::StepStats s = t.d_step(b.real, b.noise);
  CHECK(s.d_loss == doctest::Approx(0.5 * (bce_of(p_real, 0.9) + bce_of(p_fake, 0.0))).epsilon(1e-5));
  CHECK(s.d_loss != doctest::Approx(0.5 * (bce_of(p_real, 1.0) + bce_of(p_fake, 0.0))).epsilon(1e-5));
}

TEST_CASE("recipe: D declared to output logits trains with BCE-with-logits as D with its Sigmoid with BCE") {
  gan::Recipe plain, logits;
  logits.d_logits = true;
  gan::Trainer a = trainer_with(plain), b = trainer_with(logits);  // the same initial weights
  Rng rng(3);
  const SmallBatches x(rng);
  const gan::StepStats sa = a.step(x.real, x.noise, x.g_noise), sb = b.step(x.real, x.noise, x.g_noise);
  CHECK(sb.d_loss == doctest::Approx(sa.d_loss).epsilon(1e-5));
  CHECK(sb.g_loss == doctest::Approx(sa.g_loss).epsilon(1e-5));
  CHECK(sb.d_acc_real == sa.d_acc_real);
  CHECK(sb.d_acc_fake == sa.d_acc_fake);
  check_same_weights(a.generator(), b.generator(), 1e-4);
  check_same_weights(a.discriminator(), b.discriminator(), 1e-4);

  // A D declared to output logits that still ends in its Sigmoid is refused.
  Rng r(4);
  CHECK_THROWS_WITH_AS(gan::Trainer(generator(r), discriminator(r), logits),
                       doctest::Contains("declared to output logits (Recipe::d_logits) but ends in a Sigmoid"), Error);
}

TEST_CASE("recipe: reused fakes skip G's second forward pass and train exactly as recomputing them") {
  gan::Recipe recompute, reuse;
  reuse.reuse_fakes = true;
  gan::Trainer a = trainer_with(recompute), b = trainer_with(reuse);  // the same initial weights
  Rng rng(5);
  const SmallBatches x(rng);
  const auto batches_tracked = [](gan::Trainer& t) {
    for (const auto& [name, b] : t.generator().named_buffers())
      if (name == "1.num_batches_tracked") return b.value()[0];
    FAIL("G has no 1.num_batches_tracked");
    return 0.0f;
  };
  for (int i = 0; i < 3; ++i) {
    const gan::StepStats sa = a.step(x.real, x.noise, x.noise), sb = b.step(x.real, x.noise, x.noise);
    CHECK(sb.d_loss == doctest::Approx(sa.d_loss).epsilon(1e-6));
    CHECK(sb.g_loss == doctest::Approx(sa.g_loss).epsilon(1e-6));
  }
  check_same_weights(a.generator(), b.generator(), 1e-5);
  check_same_weights(a.discriminator(), b.discriminator(), 1e-5);
  // G's BatchNorm saw one batch per iteration instead of two: the G step ran no forward pass of its own.
  CHECK(batches_tracked(a) == 6);
  CHECK(batches_tracked(b) == 3);
  // Other noise for the G step: G runs again.
  b.step(x.real, x.noise, x.g_noise);
  CHECK(batches_tracked(b) == 5);
}

TEST_CASE("recipe: the EMA generator starts as G and then moves a share 1 - d towards it") {
  gan::Recipe recipe;
  recipe.ema_decay = 0.999;
  gan::Trainer t = trainer_with(recipe);
  Rng init(9);
  t.set_ema_generator(generator(init));  // other initial weights: replaced by G's
  const auto g = t.generator().parameters(), ema = t.ema_generator().parameters();
  for (std::size_t i = 0; i < g.size(); ++i)
    for (Index k = 0; k < g[i].numel(); ++k) REQUIRE(ema[i].value()[k] == g[i].value()[k]);
  CHECK(&t.sampling_generator() == &t.ema_generator());

  Rng rng(5);
  for (int step = 0; step < 3; ++step) {
    const SmallBatches b(rng);
    std::vector<Tensor<float>> before;
    for (const auto& p : ema) before.push_back(p.value());
    t.step(b.real, b.noise, b.g_noise);
    // Step t (0-based) uses d = min(0.999, (1 + t) / (10 + t)).
    const double d = std::min(0.999, (1.0 + step) / (10.0 + step));
    for (std::size_t i = 0; i < g.size(); ++i)
      for (Index k = 0; k < g[i].numel(); ++k)
        CHECK(ema[i].value()[k] ==
              doctest::Approx(d * before[i][k] + (1 - d) * g[i].value()[k]).epsilon(1e-5));
  }
  // BatchNorm's running statistics are G's own, copied.
  const auto gb = t.generator().named_buffers(), eb = t.ema_generator().named_buffers();
  REQUIRE(gb.size() == eb.size());
  for (std::size_t i = 0; i < gb.size(); ++i)
    for (Index k = 0; k < gb[i].second.numel(); ++k) CHECK(eb[i].second.value()[k] == gb[i].second.value()[k]);
}

TEST_CASE("recipe: the Trainer refuses settings outside their range") {
  gan::Recipe bad_label, bad_decay, bad_steps;
  bad_label.real_label = 1.5;
  bad_decay.ema_decay = 1.0;
  bad_steps.d_steps = 0;
  CHECK_THROWS_WITH_AS(trainer_with(bad_label), doctest::Contains("real label in (0, 1], found 1.5"), Error);
  CHECK_THROWS_WITH_AS(trainer_with(bad_decay), doctest::Contains("EMA decay in [0, 1), found 1"), Error);
  CHECK_THROWS_WITH_AS(trainer_with(bad_steps), doctest::Contains("at least one D step"), Error);
}

TEST_CASE("recipe: the pixel loss adds w x MSE(G(x), x's paired target) to G's loss") {
  gan::Recipe plain, paired;
  paired.pixel_loss = 10;
  gan::Trainer a = trainer_with(plain), b = trainer_with(paired);  // the same initial weights
  Rng rng(6);
  const SmallBatches x(rng);
  Tensor<float> fake;  // G's output as the step computes it (train mode)
  {
    NoGrad no_grad;
    fake = b.generator()(Var<float>(x.g_noise)).value();
  }
  double mse = 0;
  for (Index i = 0; i < fake.numel(); ++i) mse += std::pow(static_cast<double>(fake[i]) - x.real[i], 2);
  mse /= static_cast<double>(fake.numel());
  REQUIRE(mse > 0.1);
  const double plain_loss = a.g_step(x.g_noise), paired_loss = b.g_step(x.g_noise, &x.real);
  CHECK(paired_loss == doctest::Approx(plain_loss + 10 * mse).epsilon(1e-5));

  CHECK_THROWS_WITH_AS(b.g_step(x.g_noise), doctest::Contains("the real image paired with each G input"), Error);
  gan::Recipe negative;
  negative.pixel_loss = -1;
  CHECK_THROWS_WITH_AS(trainer_with(negative), doctest::Contains("pixel-loss weight >= 0, found -1"), Error);
}

TEST_CASE("recipe: lr decay holds the rate for half the run, then falls linearly, never to 0") {
  CHECK(gan::lr_decay_factor(0.0) == 1.0);
  CHECK(gan::lr_decay_factor(0.5) == 1.0);
  CHECK(gan::lr_decay_factor(0.75) == doctest::Approx(0.5));
  CHECK(gan::lr_decay_factor(0.99) == doctest::Approx(0.02));
  CHECK_THROWS_WITH_AS(gan::lr_decay_factor(1.0), doctest::Contains("run fraction in [0, 1), found 1"), Error);

  // The run's fraction is that of its iterations, or of its time budget when that is further along.
  CHECK(gan::run_fraction(75, 100) == doctest::Approx(0.75));
  CHECK(gan::run_fraction(75, 100, 30.0, 60.0) == doctest::Approx(0.75));
  CHECK(gan::run_fraction(10, 100, 45.0, 60.0) == doctest::Approx(0.75));
  CHECK(gan::run_fraction(10, 100, 45.0, 0.0) == doctest::Approx(0.1));  // no budget: iterations alone
  // A step that starts past the budget still gets a rate above 0.
  const double late = gan::run_fraction(10, 1000000000, 90.0, 60.0);
  CHECK(late < 1.0);
  CHECK(gan::lr_decay_factor(late) > 0.0);
  CHECK_THROWS_WITH_AS(gan::run_fraction(100, 100), doctest::Contains("iteration in [0, 100), found 100"), Error);

  // Scaling the rates by f steps exactly as a recipe whose rates are f times lower.
  gan::Recipe full, half;
  half.lr_g = full.lr_g / 2;
  half.lr_d = full.lr_d / 2;
  gan::Trainer scaled = trainer_with(full), lowered = trainer_with(half), unscaled = trainer_with(full);
  scaled.scale_learning_rates(0.5);
  CHECK(scaled.generator_optimizer().options().lr() == doctest::Approx(half.lr_g));
  Rng rng(3);
  const SmallBatches b(rng);
  for (gan::Trainer* t : {&scaled, &lowered, &unscaled}) t->step(b.real, b.noise, b.g_noise);
  const auto weights = [](gan::Trainer& t, bool of_g) {
    return (of_g ? t.generator() : t.discriminator()).named_parameters()[0].second.value();
  };
  for (bool of_g : {true, false}) {
    CHECK(weights(scaled, of_g).array().cwiseEqual(weights(lowered, of_g).array()).all());
    CHECK_FALSE(weights(scaled, of_g).array().cwiseEqual(weights(unscaled, of_g).array()).all());
  }
  CHECK_THROWS_WITH_AS(scaled.scale_learning_rates(0), doctest::Contains("expected lr > 0, found 0"), Error);
}

TEST_CASE("recipe: --wgan-gp trains the paper's critic, without the spectral norm a --recipe best brings") {
  gan::CliSpec spec;
  spec.program = "mnist_dcgan";
  spec.critic = true;
  const auto applied = [&](std::vector<const char*> argv) {
    gan::Recipe best;
    best.spectral_norm = true;
    argv.insert(argv.begin(), "mnist_dcgan");
    const gan::CliOptions o = gan::parse_cli(static_cast<int>(argv.size()), argv.data(), spec);
    return gan::apply_switches(best, o.recipe_switches, spec.program);
  };
  const gan::Recipe wgan = applied({"--wgan-gp"});
  CHECK_FALSE(wgan.spectral_norm);
  CHECK(wgan.gp_lambda == 10);
  CHECK(wgan.loss == gan::AdversarialLoss::wasserstein);
  // In either order on the command line --spectral-norm applies after it (the table's order) and puts it back.
  CHECK(applied({"--spectral-norm", "--wgan-gp"}).spectral_norm);
}
