// The three multilayer-perceptron GANs of docs/models.md: dense, dense-bn
// (BatchNorm in G, dropout in D) and minimal (the smallest, pixels in
// [0, 1]). Weights drawn as PyTorch's defaults (Module::initialize).
#pragma once

#include <utility>

#include "common.hpp"

namespace mnist {

/// dense: a plain multilayer perceptron GAN.
template <class T>
Model<T> dense_generator(tinygan::Rng& rng) {
  using namespace tinygan::nn;
  auto g = std::make_shared<Sequential<T>>();
  g->add(Dense<T>(kLatent, 256)).add(ReLU<T>())
      .add(Dense<T>(256, 512)).add(ReLU<T>())
      .add(Dense<T>(512, 1024)).add(ReLU<T>())
      .add(Dense<T>(1024, kPixels)).add(Tanh<T>());
  g->initialize(rng);
  return g;
}

template <class T>
Model<T> dense_discriminator(tinygan::Rng& rng, tinygan::gan::DiscriminatorOutput output = {}) {
  using namespace tinygan::nn;
  auto d = std::make_shared<Sequential<T>>();
  d->add(Dense<T>(kPixels, 1024)).add(LeakyReLU<T>(kSlope))
      .add(Dense<T>(1024, 512)).add(LeakyReLU<T>(kSlope))
      .add(Dense<T>(512, 256)).add(LeakyReLU<T>(kSlope))
      .add(Dense<T>(256, 1));
  add_output(*d, output);
  d->initialize(rng);
  return d;
}

/// dense-bn: BatchNorm after each hidden ReLU of G, dropout 0.4 in D.
template <class T>
Model<T> dense_bn_generator(tinygan::Rng& rng) {
  using namespace tinygan::nn;
  auto g = std::make_shared<Sequential<T>>();
  for (auto [in, out] : {std::pair<tinygan::Index, tinygan::Index>{kLatent, 256}, {256, 512}, {512, 1024}})
    g->add(Dense<T>(in, out)).add(ReLU<T>()).add(BatchNorm<T>(out));
  g->add(Dense<T>(1024, kPixels)).add(Tanh<T>());
  g->initialize(rng);
  return g;
}

template <class T>
Model<T> dense_bn_discriminator(tinygan::Rng& rng, tinygan::gan::DiscriminatorOutput output = {}) {
  using namespace tinygan::nn;
  auto d = std::make_shared<Sequential<T>>();
  for (auto [in, out] : {std::pair<tinygan::Index, tinygan::Index>{kPixels, 1024}, {1024, 512}, {512, 256}})
    d->add(Dense<T>(in, out)).add(ReLU<T>()).add(Dropout<T>(0.4));
  d->add(Dense<T>(256, 1));
  add_output(*d, output);
  d->initialize(rng);
  return d;
}

/// minimal: the smallest dense GAN, images 28x28 in [0, 1].
template <class T>
Model<T> minimal_generator(tinygan::Rng& rng) {
  using namespace tinygan::nn;
  auto g = std::make_shared<Sequential<T>>();
  g->add(Dense<T>(kLatent, 256)).add(ReLU<T>())
      .add(Dense<T>(256, kPixels)).add(Sigmoid<T>())
      .add(Reshape<T>({28, 28}));
  g->initialize(rng);
  return g;
}

template <class T>
Model<T> minimal_discriminator(tinygan::Rng& rng, tinygan::gan::DiscriminatorOutput output = {}) {
  using namespace tinygan::nn;
  auto d = std::make_shared<Sequential<T>>();
  d->add(Flatten<T>())
      .add(Dense<T>(kPixels, 256)).add(ReLU<T>())
      .add(Dense<T>(256, 1));
  add_output(*d, output);
  d->initialize(rng);
  return d;
}

}  // namespace mnist
