// AC-GAN (Recipe::ac_gan): a projection D with a classifier beside its score,
// and the Trainer's class losses, checked against sums written out here.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "models/conditional_dcgan.hpp"
#include "small_gan.hpp"
#include "tinygan/gan.hpp"
#include "tinygan/gan/cli.hpp"

using namespace tinygan;

namespace {
constexpr Index kAcClasses = 3;

/// A projection D on the 9-pixel toy images, with the auxiliary classifier.
std::shared_ptr<nn::ProjectionDiscriminator<float>> classifying_d(Rng& rng, bool classifier = true) {
  auto body = std::make_shared<nn::Sequential<float>>();
  body->add(nn::Dense<float>(9, 8)).add(nn::LeakyReLU<float>(0.2));
  auto d = std::make_shared<nn::ProjectionDiscriminator<float>>(body, 8, kAcClasses, false, classifier);
  d->initialize(rng);
  return d;
}

double bce_logit(double x, double y) { return std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::abs(x))); }

/// Written out: the mean over rows of BCE-with-logits on column 0 against
/// `target`, and the mean cross-entropy of columns 1.. against `classes`.
std::pair<double, double> ac_losses(const Tensor<float>& out, double target, const Tensor<float>& classes) {
  double source = 0, classified = 0;
  const Index n = out.dim(0), columns = out.dim(1);
  for (Index i = 0; i < n; ++i) {
    const float* row = out.data() + i * columns;
    source += bce_logit(row[0], target);
    double total = 0;
    for (Index k = 1; k < columns; ++k) total += std::exp(static_cast<double>(row[k]));
    classified += std::log(total) - row[1 + static_cast<Index>(classes[i])];
  }
  return {source / static_cast<double>(n), classified / static_cast<double>(n)};
}
}  // namespace

TEST_CASE("AC-GAN: the projection D answers [N, 1 + classes], its score then the classifier's logits") {
  Rng rng(3);
  auto d = classifying_d(rng);
  const Tensor<float> x = Tensor<float>::rand({4, 9}, rng, -1, 1), labels = Tensor<float>::from({4}, {0, 1, 2, 1});
  NoGrad no_grad;
  const Tensor<float> out = (*d)(Var<float>(x), labels).value();
  REQUIRE(out.shape() == Shape{4, 1 + kAcClasses});
  // The classifier's logits do not depend on the label; the score does.
  const Tensor<float> other = (*d)(Var<float>(x), Tensor<float>::from({4}, {2, 2, 0, 0})).value();
  for (Index i = 0; i < 4; ++i)
    for (Index k = 1; k <= kAcClasses; ++k) CHECK(other[i * 4 + k] == out[i * 4 + k]);
  CHECK(other[0] != out[0]);
  std::vector<std::string> names;
  for (auto& [name, p] : d->named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"body.0.weight", "body.0.bias", "head.weight", "head.bias", "embed.weight",
                                          "classifier.weight", "classifier.bias"});
  const std::string table = nn::summary(*d, {9}, "D");
  INFO(table);
  CHECK(table.find("classifier (Dense)") != std::string::npos);
  CHECK(table.find("(None, 4)") != std::string::npos);
}

TEST_CASE("AC-GAN: D's loss adds w x the mean class cross-entropy of reals and fakes, G's w x its fakes'") {
  Rng rng(5);
  auto g = testing::generator(rng);
  auto d = classifying_d(rng);
  gan::Recipe recipe;
  recipe.d_logits = true;
  recipe.ac_gan = 0.7;
  gan::Trainer trainer(g, d, recipe);
  const testing::SmallBatches b(rng);
  const Tensor<float> real_y = Tensor<float>::from({5}, {0, 1, 2, 0, 1}), fake_y = Tensor<float>::from({5}, {2, 2, 1, 0, 0}),
                      g_y = Tensor<float>::from({5}, {1, 0, 0, 2, 2});
  double expected_d = 0, expected_g = 0;
  {
    NoGrad no_grad;
    const Var<float> fake = (*g)(Var<float>(b.noise));
    const auto [real_source, real_class] = ac_losses((*d)(Var<float>(b.real), real_y).value(), 1, real_y);
    const auto [fake_source, fake_class] = ac_losses((*d)(fake, fake_y).value(), 0, fake_y);
    expected_d = 0.5 * (real_source + fake_source) + 0.7 * 0.5 * (real_class + fake_class);
  }
  const gan::StepStats stats = trainer.d_step(b.real, b.noise, &real_y, &fake_y);
  CHECK(stats.d_loss == doctest::Approx(expected_d).epsilon(1e-5));
  {
    NoGrad no_grad;  // D as the G step sees it: after its own step
    const auto [source, classified] = ac_losses((*d)((*g)(Var<float>(b.g_noise)), g_y).value(), 1, g_y);
    expected_g = source + 0.7 * classified;
  }
  CHECK(trainer.g_step(b.g_noise, nullptr, &g_y) == doctest::Approx(expected_g).epsilon(1e-5));
}

TEST_CASE("AC-GAN: through the Trainer, D's classifier learns the reals' classes") {
  // Class k's "images" sit around a pixel pattern of their own, so a
  // classifier on them can be right nearly always; it starts near chance.
  Rng rng(9);
  auto d = classifying_d(rng);
  gan::Recipe recipe;
  recipe.d_logits = true;
  recipe.ac_gan = 1;
  recipe.lr_d = 1e-2;
  gan::Trainer trainer(testing::generator(rng), d, recipe);
  const Index n = 30;
  Tensor<float> real = Tensor<float>::rand({n, 9}, rng, -0.2f, 0.2f), classes(Shape{n});
  for (Index i = 0; i < n; ++i) {
    classes[i] = static_cast<float>(i % kAcClasses);
    real[i * 9 + 3 * (i % kAcClasses)] += 0.8f;
  }
  const auto accuracy = [&] {
    NoGrad no_grad;
    const Tensor<float> out = (*d)(Var<float>(real), classes).value();
    int right = 0;
    for (Index i = 0; i < n; ++i) {
      Index best = 1;
      for (Index k = 2; k <= kAcClasses; ++k) best = out[i * 4 + k] > out[i * 4 + best] ? k : best;
      right += best - 1 == static_cast<Index>(classes[i]);
    }
    return static_cast<double>(right) / static_cast<double>(n);
  };
  const double before = accuracy();
  for (int step = 0; step < 60; ++step) {
    const Tensor<float> noise = Tensor<float>::randn({n, 6}, rng);
    trainer.step(real, noise, noise, &classes, &classes, &classes);
  }
  INFO("accuracy before " << before << ", after " << accuracy());
  CHECK(before < 0.7);
  CHECK(accuracy() > 0.95);
}

TEST_CASE("AC-GAN is refused where it cannot run, naming what it needs") {
  Rng rng(7);
  gan::Recipe recipe;
  recipe.d_logits = true;
  recipe.ac_gan = 1;
  CHECK_THROWS_WITH_AS(gan::Trainer(testing::generator(rng), testing::discriminator(rng, gan::DiscriminatorOutput::logits),
                                    recipe),
                       doctest::Contains("trains a conditional discriminator with a classifier head, found Sequential"),
                       Error);
  gan::Trainer without_head(testing::generator(rng), classifying_d(rng, false), recipe);
  const testing::SmallBatches b(rng);
  const Tensor<float> y = Tensor<float>::from({5}, {0, 1, 2, 0, 1});
  CHECK_THROWS_WITH_AS(without_head.d_step(b.real, b.noise, &y, &y),
                       doctest::Contains("outputs [N, 1 + classes], its score then class logits, found [5, 1]"), Error);
  CHECK_THROWS_WITH_AS(mnist::conditional_dcgan_discriminator<float>(rng, mnist::LabelInput::channels, {}, 10, 1, true),
                       doctest::Contains("built on the projection D, not on label channels"), Error);
  CHECK_THROWS_WITH(narrow(Var<float>(Tensor<float>::zeros({2, 4})), 3, 2),
                    doctest::Contains("expected entries 3 to 4 of dimension 1 of a tensor [N, A, ...], found [2, 4]"));

  gan::CliSpec spec;
  spec.program = "image_dcgan";
  spec.any_images = spec.conditional = true;
  const char* alone[] = {"image_dcgan", "--dataset", "mnist", "--ac-gan", "1"};
  CHECK_THROWS_WITH_AS(gan::parse_cli(5, alone, spec), doctest::Contains("--ac-gan needs --conditional"),
                       gan::UsageError);
  const char* with_labels[] = {"image_dcgan", "--dataset", "mnist", "--conditional", "--ac-gan", "1"};
  CHECK(gan::parse_cli(6, with_labels, spec).recipe_switches.size() == 1);
  CHECK(gan::usage(spec).find("--ac-gan W") != std::string::npos);
  spec.conditional = false;  // mnist_dcgan and the others: no labels, no switch
  CHECK(gan::usage(spec).find("--ac-gan") == std::string::npos);
  CHECK_THROWS_WITH_AS(gan::parse_cli(5, alone, spec), doctest::Contains("unknown option '--ac-gan'"), gan::UsageError);
}

TEST_CASE("AC-GAN: --resume refuses a checkpoint of another class-loss weight; older ones count as off") {
  io::Checkpoint<float> older;  // written before the setting existed
  for (const auto& [name, value] : gan::recipe_settings(gan::Recipe{}))
    if (name != "ac_gan") older.put_text("recipe." + name, value);
  CHECK_NOTHROW(gan::check_resumed_recipe(older, gan::Recipe{}));
  gan::Recipe ac;
  ac.ac_gan = 1;
  CHECK_THROWS_WITH(gan::check_resumed_recipe(older, ac), doctest::Contains("trained with ac_gan 0, but this run has 1"));
  io::Checkpoint<float> trained;
  gan::save_recipe(trained, ac);
  CHECK_NOTHROW(gan::check_resumed_recipe(trained, ac));
  CHECK_THROWS_WITH(gan::check_resumed_recipe(trained, gan::Recipe{}), doctest::Contains("trained with ac_gan 1"));
}
