// A tiny GAN on 9-pixel "images" for tests of the Trainer: fast enough to
// run many steps, small enough to poke at single weights.
#pragma once

#include "tinygan/gan.hpp"
#include "models/common.hpp"

namespace tinygan::testing {

using Model = mnist::Model<float>;

inline Model generator(Rng& rng) {
  using namespace nn;
  auto g = std::make_shared<Sequential<float>>();
  g->add(Dense<float>(DenseOptions(6, 16))).add(BatchNorm<float>(16)).add(LeakyReLU<float>(0.2));
  g->add(Dense<float>(16, 9)).add(Tanh<float>());
  g->initialize(rng);
  return g;
}

/// Ends in a Sigmoid unless declared to output logits.
inline Model discriminator(Rng& rng, gan::DiscriminatorOutput output = gan::DiscriminatorOutput::probabilities) {
  using namespace nn;
  auto d = std::make_shared<Sequential<float>>();
  d->add(Dense<float>(9, 8)).add(LeakyReLU<float>(0.2)).add(Dense<float>(8, 1));
  if (output == gan::DiscriminatorOutput::probabilities) d->add(Sigmoid<float>());
  d->initialize(rng);
  return d;
}

struct SmallBatches {
  Tensor<float> real, noise, g_noise;
  explicit SmallBatches(Rng& rng)
      : real(Tensor<float>::rand({5, 9}, rng, -1, 1)),
        noise(Tensor<float>::randn({5, 6}, rng)),
        g_noise(Tensor<float>::randn({5, 6}, rng)) {}
};

inline gan::Trainer trainer_with(const gan::Recipe& recipe, std::uint64_t seed = 1) {
  Rng rng(seed);
  Model g = generator(rng), d = discriminator(rng, gan::discriminator_output(recipe));
  return gan::Trainer(g, d, recipe);
}

}  // namespace tinygan::testing
