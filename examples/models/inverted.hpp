// The inverted model of docs/models.md: an autoencoder generator
// (784 -> 32 -> 784) that learns to turn digits dark-on-white, with dropout
// after every LeakyReLU but the bottleneck's, and a dense critic. Weights
// drawn as PyTorch's defaults (Module::initialize).
#pragma once

#include <iterator>

#include "common.hpp"

namespace mnist {

template <class T>
Model<T> inverted_generator(tinygan::Rng& rng) {
  using namespace tinygan::nn;
  auto g = std::make_shared<Sequential<T>>();
  const tinygan::Index widths[] = {kPixels, 512, 256, 128, 64, 32, 64, 128, 256, 512};
  for (std::size_t i = 0; i + 1 < std::size(widths); ++i) {
    g->add(Dense<T>(widths[i], widths[i + 1])).add(LeakyReLU<T>(kSlope));
    if (widths[i + 1] != 32) g->add(Dropout<T>(0.3));
  }
  g->add(Dense<T>(512, kPixels)).add(Sigmoid<T>());
  g->initialize(rng);
  return g;
}

template <class T>
Model<T> inverted_discriminator(tinygan::Rng& rng, tinygan::gan::DiscriminatorOutput output = {}) {
  using namespace tinygan::nn;
  auto d = std::make_shared<Sequential<T>>();
  d->add(Dense<T>(kPixels, 512)).add(LeakyReLU<T>(kSlope))
      .add(Dense<T>(512, 256)).add(LeakyReLU<T>(kSlope))
      .add(Dense<T>(256, 1));
  add_output(*d, output);
  d->initialize(rng);
  return d;
}

}  // namespace mnist
