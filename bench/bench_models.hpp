// docs/models.md's five models and pytorch/examples' 64x64x3 DCGAN as the
// benchmarks train them, with their batch sizes and optimizer settings (shared
// by bench_iterations and bench_distributed).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <tinygan/gan.hpp>
#include "models/conditional_dcgan.hpp"
#include "models/dcgan.hpp"
#include "models/dense.hpp"
#include "models/inverted.hpp"
#include "models/pytorch_dcgan.hpp"

namespace tinygan::bench {

// docs/models.md's five models as the examples train them (examples/mnist_*.cpp),
// "dcgan64", pytorch/examples' DCGAN (examples/models/pytorch_dcgan.hpp)
// with its own settings: batch 64, Adam 2e-4 (0.5, 0.999), BCE; and the
// conditional DCGAN (examples/models/conditional_dcgan.hpp) with each kind of
// D, at the DCGAN's settings, its batches labelled with 10 classes.
struct BenchModel {
  std::string name;
  std::function<gan::Trainer::Model(Rng&)> generator;
  std::function<gan::Trainer::Model(Rng&, gan::DiscriminatorOutput)> discriminator;
  Shape sample;      // one real sample as D takes it
  Index latent;      // 0: G takes an image (the autoencoder)
  Index real_batch, fake_batch, g_batch;
  double lr, beta1;
  gan::GeneratorLoss g_loss;
  int repeats;       // timed iterations by default
  Index classes = 0;  // a conditional model's; 0: unconditional
};

inline const std::vector<BenchModel>& bench_models() {
  using gan::GeneratorLoss;
  static const std::vector<BenchModel> all = {
      {"dcgan", [](Rng& rng) { return mnist::dcgan_generator<float>(rng); },
       [](Rng& rng, gan::DiscriminatorOutput out) { return mnist::dcgan_discriminator<float>(rng, out); }, Shape{1, 28, 28}, 100, 64, 64, 64,
       2e-4, 0.5, GeneratorLoss::bce, 30},
      {"dense", mnist::dense_generator<float>, mnist::dense_discriminator<float>, Shape{784}, 100, 64, 64, 64, 2e-4,
       0.5, GeneratorLoss::bce, 300},
      {"dense-bn", mnist::dense_bn_generator<float>, mnist::dense_bn_discriminator<float>, Shape{784}, 100, 32, 32,
       64, 2e-4, 0.5, GeneratorLoss::bce, 300},
      {"minimal", mnist::minimal_generator<float>, mnist::minimal_discriminator<float>, Shape{28, 28}, 100, 32, 32,
       32, 1e-3, 0.9, GeneratorLoss::bce, 2000},
      {"inverted", mnist::inverted_generator<float>, mnist::inverted_discriminator<float>, Shape{784}, 0, 128, 128,
       128, 2e-4, 0.9, GeneratorLoss::msle, 300},
      {"dcgan64", [](Rng& rng) { return images::dcgan_generator<float>(rng, 64, 3); },
       [](Rng& rng, gan::DiscriminatorOutput out) { return images::dcgan_discriminator<float>(rng, out, 64, 3); },
       Shape{3, 64, 64}, 100, 64, 64, 64, 2e-4, 0.5, GeneratorLoss::bce, 10},
      {"cdcgan-projection", [](Rng& rng) { return mnist::conditional_dcgan_generator<float>(rng, 10); },
       [](Rng& rng, gan::DiscriminatorOutput out) {
         return mnist::conditional_dcgan_discriminator<float>(rng, mnist::LabelInput::projection, out, 10);
       },
       Shape{1, 28, 28}, 100, 64, 64, 64, 2e-4, 0.5, GeneratorLoss::bce, 30, 10},
      {"cdcgan-channels", [](Rng& rng) { return mnist::conditional_dcgan_generator<float>(rng, 10); },
       [](Rng& rng, gan::DiscriminatorOutput out) {
         return mnist::conditional_dcgan_discriminator<float>(rng, mnist::LabelInput::channels, out, 10);
       },
       Shape{1, 28, 28}, 100, 64, 64, 64, 2e-4, 0.5, GeneratorLoss::bce, 30, 10},
  };
  return all;
}

inline Shape batch_of(Index n, const Shape& sample) {
  Shape s{n};
  for (int i = 0; i < sample.rank(); ++i) s.push_back(sample[i]);
  return s;
}

/// The model of this name, or nullptr.
inline const BenchModel* find_model(const std::string& name) {
  for (const auto& m : bench_models())
    if (m.name == name) return &m;
  return nullptr;
}

/// An untrained Trainer for m with its docs/models.md settings, and the R1
/// penalty in every iteration when r1_gamma > 0.
inline gan::Trainer make_trainer(const BenchModel& m, Rng& rng, double r1_gamma = 0) {
  gan::Recipe recipe;
  recipe.lr_g = recipe.lr_d = m.lr;
  recipe.beta1 = m.beta1;
  recipe.g_loss = m.g_loss;
  recipe.r1_gamma = r1_gamma;
  return gan::Trainer(m.generator(rng), m.discriminator(rng, gan::discriminator_output(recipe)), recipe);
}

}  // namespace tinygan::bench
