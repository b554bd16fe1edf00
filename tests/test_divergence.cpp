// Divergence: a step whose loss or gradient is not finite stops training
// before it changes anything, or is skipped; a D that always wins is noticed.
#include <doctest/doctest.h>

#include <limits>

#include "small_gan.hpp"
#include "test_util.hpp"
#include "tinygan/gan.hpp"

using namespace tinygan;
using namespace tinygan::testing;

namespace {
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// Every weight of both models, to see that none moved. (BatchNorm's running
// statistics are not weights: the forward pass of a refused step updates them.)
std::vector<Tensor<float>> snapshot(gan::Trainer& t) {
  std::vector<Tensor<float>> out;
  for (auto* m : {&t.generator(), &t.discriminator()})
    for (auto& [name, p] : m->named_parameters()) out.push_back(p.value());
  return out;
}

bool same(const std::vector<Tensor<float>>& a, const std::vector<Tensor<float>>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (Index k = 0; k < a[i].numel(); ++k)
      if (!(a[i][k] == b[i][k]) && !(a[i][k] != a[i][k] && b[i][k] != b[i][k])) return false;  // NaN == NaN here
  return true;
}
}  // namespace

TEST_CASE("all_finite finds a NaN or an infinity anywhere, and nothing in finite values") {
  Tensor<float> t(Shape{3, 37}, 1e30f);
  CHECK(gan::all_finite(t));
  t[100] = std::numeric_limits<float>::infinity();
  CHECK_FALSE(gan::all_finite(t));
  t[100] = -std::numeric_limits<float>::max();
  CHECK(gan::all_finite(t));
  t[110] = kNaN;
  CHECK_FALSE(gan::all_finite(t));
  // Large enough to be shared out over the threads: a NaN in any share is found.
  const int threads = num_threads();
  set_num_threads(2);
  Tensor<float> big(Shape{3 * kParallelGrain}, -2.0f);
  CHECK(gan::all_finite(big));
  for (Index at : {Index{0}, 3 * kParallelGrain / 2, 3 * kParallelGrain - 1}) {
    big[at] = kNaN;
    CHECK_FALSE(gan::all_finite(big));
    big[at] = 1.0f;
  }
  set_num_threads(threads);
}

TEST_CASE("GradientWatch names the first parameter, in network order, whose gradient is not finite") {
  Rng rng(1);
  Model d = discriminator(rng);
  const gan::GradientWatch<float> watch("discriminator", *d);
  auto params = d->named_parameters();  // 0.weight, 0.bias, 2.weight, 2.bias
  for (auto& [name, p] : params) p.grad().fill(0.5f);
  CHECK(watch.first_non_finite() == nullptr);
  params[3].second.grad()[0] = kNaN;
  REQUIRE(watch.first_non_finite() != nullptr);
  CHECK(*watch.first_non_finite() == "discriminator.2.bias (Dense)");
  params[0].second.grad()[5] = -std::numeric_limits<float>::infinity();
  CHECK(*watch.first_non_finite() == "discriminator.0.weight (Dense)");
  // A frozen parameter is not looked at: its gradient is not used.
  params[0].second.set_requires_grad(false);
  CHECK(*watch.first_non_finite() == "discriminator.2.bias (Dense)");
}

TEST_CASE("a NaN weight stops the D step before any weight moves, naming the iteration, loss and layer") {
  gan::Trainer t = trainer_with(gan::Recipe{});
  Rng rng(2);
  const SmallBatches b(rng);
  t.step(b.real, b.noise, b.g_noise);
  t.discriminator().named_parameters()[2].second.value()[3] = kNaN;  // D's last Dense
  const auto before = snapshot(t);
  std::string msg;
  try {
    t.step(b.real, b.noise, b.g_noise);
  } catch (const gan::NonFiniteError& e) {
    msg = e.what();
  }
  CHECK(contains(msg, "iteration 2, D step"));
  CHECK(contains(msg, "loss is nan"));
  // Backward carries the NaN to every layer below it: the first in order is named.
  CHECK(contains(msg, "discriminator.0.weight (Dense)"));
  CHECK(same(before, snapshot(t)));
  CHECK(t.iteration() == 1);
}

TEST_CASE("a NaN in G stops the G step and leaves G's weights and optimizer as they were") {
  gan::Trainer t = trainer_with(gan::Recipe{});
  Rng rng(3);
  const SmallBatches b(rng);
  t.step(b.real, b.noise, b.g_noise);
  // A NaN noise vector makes G's output, D's score and G's loss NaN.
  Tensor<float> g_noise = b.g_noise;
  g_noise[0] = kNaN;
  const auto g_before = t.generator().named_parameters()[0].second.value();
  const std::string msg = error_of([&] { t.g_step(g_noise); });
  CHECK(contains(msg, "iteration 2, G step"));
  CHECK(contains(msg, "generator.0.weight (Dense)"));
  const auto g_after = t.generator().named_parameters()[0].second.value();
  for (Index i = 0; i < g_before.numel(); ++i) CHECK(g_after[i] == g_before[i]);
  CHECK(t.generator_optimizer().state()[0].step == 1);
}

TEST_CASE("--on-nan skip: a non-finite step is skipped and counted, and training goes on") {
  gan::Trainer t = trainer_with(gan::Recipe{});
  t.set_on_non_finite(gan::OnNonFinite::skip);
  Rng rng(4);
  const SmallBatches b(rng);
  // A NaN in D's last layer (past every BatchNorm) makes both steps' losses NaN.
  float& w = t.discriminator().named_parameters()[2].second.value()[3];
  const float good = w;
  w = kNaN;
  const auto before = snapshot(t);
  const gan::StepStats bad = t.step(b.real, b.noise, b.g_noise);
  CHECK(bad.skipped);
  CHECK(t.skipped_steps() == 2);
  CHECK(t.iteration() == 1);
  CHECK(contains(t.last_skip_reason(), "iteration 1, G step"));
  CHECK(contains(t.last_skip_reason(), "generator.0.weight (Dense)"));
  CHECK(same(before, snapshot(t)));
  w = good;
  const gan::StepStats ok = t.step(b.real, b.noise, b.g_noise);
  CHECK_FALSE(ok.skipped);
  CHECK(t.skipped_steps() == 2);
  CHECK(t.iteration() == 2);
  CHECK_FALSE(same(before, snapshot(t)));
}

TEST_CASE("--on-nan skip refuses to skip once a forward pass has left a BatchNorm statistic non-finite") {
  gan::Trainer t = trainer_with(gan::Recipe{});
  t.set_on_non_finite(gan::OnNonFinite::skip);
  Rng rng(5);
  const SmallBatches b(rng);
  // In the D step G runs in training mode: a NaN noise vector reaches G's BatchNorm running mean.
  Tensor<float> bad_noise = b.noise;
  bad_noise[0] = kNaN;
  const std::string msg = error_of([&] { t.d_step(b.real, bad_noise); });
  CHECK(contains(msg, "cannot skip"));
  CHECK(contains(msg, "generator.1.running_mean"));
}

TEST_CASE("DiscriminatorWinWatch says so once when D wins for `patience` iterations in a row") {
  gan::DiscriminatorWinWatch watch(5, 0.99);
  for (int i = 0; i < 4; ++i) CHECK_FALSE(watch.update(1.0, 0.995));
  CHECK_FALSE(watch.update(1.0, 0.98));  // one miss starts the count again
  CHECK(watch.stretch() == 0);
  for (int i = 0; i < 4; ++i) CHECK_FALSE(watch.update(1.0, 1.0));
  CHECK(watch.update(1.0, 1.0));
  for (int i = 0; i < 20; ++i) CHECK_FALSE(watch.update(1.0, 1.0));  // once per stretch
  CHECK(watch.stretch() == 25);
  CHECK_FALSE(watch.update(0.5, 1.0));
  for (int i = 0; i < 4; ++i) CHECK_FALSE(watch.update(1.0, 1.0));
  CHECK(watch.update(1.0, 1.0));  // a new stretch is reported again
  CHECK_THROWS_AS(gan::DiscriminatorWinWatch(0), Error);
}
