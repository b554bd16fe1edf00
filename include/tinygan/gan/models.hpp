/// \file
/// The reference networks of the MNIST examples, layer for layer as
/// shared/MODELS.md fixes them (shapes NCHW, LReLU slope 0.2, k5 "same"
/// padding 2 as in PyTorch). Each returns a model initialized from rng: the
/// DCGAN with N(0, 0.02) (nn::init::dcgan_normal), the dense models with
/// PyTorch's default; dropout streams are seeded from rng too.
#pragma once

#include <memory>

#include "tinygan/nn/activations.hpp"
#include "tinygan/nn/batch_norm.hpp"
#include "tinygan/nn/conv2d.hpp"
#include "tinygan/nn/conv_transpose2d.hpp"
#include "tinygan/nn/dense.hpp"
#include "tinygan/nn/dropout.hpp"
#include "tinygan/nn/initializers.hpp"
#include "tinygan/nn/reshape.hpp"
#include "tinygan/nn/sequential.hpp"

namespace tinygan::models {

constexpr Index kLatent = 100;
constexpr Index kPixels = 28 * 28;
constexpr double kSlope = 0.2;

template <class T>
using Model = std::shared_ptr<nn::Sequential<T>>;

/// 1. dcgan: z[100] -> 1x28x28 in [-1, 1], and its convolutional critic.
template <class T>
Model<T> dcgan_generator(Rng& rng) {
  using namespace nn;
  auto g = std::make_shared<Sequential<T>>();
  g->add(Dense<T>(DenseOptions(kLatent, 256 * 7 * 7).bias(false)))
      .add(BatchNorm<T>(256 * 7 * 7))
      .add(LeakyReLU<T>(kSlope))
      .add(Reshape<T>({256, 7, 7}))
      .add(Conv2DTranspose<T>(Conv2DTransposeOptions(256, 128, 5).padding(2).bias(false)))
      .add(BatchNorm<T>(128))
      .add(LeakyReLU<T>(kSlope))
      .add(Conv2DTranspose<T>(
          Conv2DTransposeOptions(128, 64, 5).stride(2).padding(2).output_padding(1).bias(false)))
      .add(BatchNorm<T>(64))
      .add(LeakyReLU<T>(kSlope))
      .add(Conv2DTranspose<T>(
          Conv2DTransposeOptions(64, 1, 5).stride(2).padding(2).output_padding(1).bias(false)))
      .add(Tanh<T>());
  nn::init::dcgan_normal(*g, rng);
  return g;
}

template <class T>
Model<T> dcgan_discriminator(Rng& rng) {
  using namespace nn;
  auto d = std::make_shared<Sequential<T>>();
  d->add(Conv2D<T>(Conv2DOptions(1, 64, 5).stride(2).padding(2)))
      .add(LeakyReLU<T>(kSlope))
      .add(Dropout<T>(0.3))
      .add(Conv2D<T>(Conv2DOptions(64, 128, 5).stride(2).padding(2)))
      .add(BatchNorm<T>(128))
      .add(LeakyReLU<T>(kSlope))
      .add(Dropout<T>(0.3))
      .add(Flatten<T>())
      .add(Dense<T>(128 * 7 * 7, 1))
      .add(Sigmoid<T>());
  nn::init::dcgan_normal(*d, rng);
  return d;
}

/// 2. dense: a plain multilayer perceptron GAN.
template <class T>
Model<T> dense_generator(Rng& rng) {
  using namespace nn;
  auto g = std::make_shared<Sequential<T>>();
  g->add(Dense<T>(kLatent, 256)).add(ReLU<T>())
      .add(Dense<T>(256, 512)).add(ReLU<T>())
      .add(Dense<T>(512, 1024)).add(ReLU<T>())
      .add(Dense<T>(1024, kPixels)).add(Tanh<T>());
  g->initialize(rng);
  return g;
}

template <class T>
Model<T> dense_discriminator(Rng& rng) {
  using namespace nn;
  auto d = std::make_shared<Sequential<T>>();
  d->add(Dense<T>(kPixels, 1024)).add(LeakyReLU<T>(kSlope))
      .add(Dense<T>(1024, 512)).add(LeakyReLU<T>(kSlope))
      .add(Dense<T>(512, 256)).add(LeakyReLU<T>(kSlope))
      .add(Dense<T>(256, 1)).add(Sigmoid<T>());
  d->initialize(rng);
  return d;
}

/// 3. dense-bn: batch norm after each hidden ReLU of G, dropout 0.4 in D.
template <class T>
Model<T> dense_bn_generator(Rng& rng) {
  using namespace nn;
  auto g = std::make_shared<Sequential<T>>();
  for (auto [in, out] : {std::pair<Index, Index>{kLatent, 256}, {256, 512}, {512, 1024}})
    g->add(Dense<T>(in, out)).add(ReLU<T>()).add(BatchNorm<T>(out));
  g->add(Dense<T>(1024, kPixels)).add(Tanh<T>());
  g->initialize(rng);
  return g;
}

template <class T>
Model<T> dense_bn_discriminator(Rng& rng) {
  using namespace nn;
  auto d = std::make_shared<Sequential<T>>();
  for (auto [in, out] : {std::pair<Index, Index>{kPixels, 1024}, {1024, 512}, {512, 256}})
    d->add(Dense<T>(in, out)).add(ReLU<T>()).add(Dropout<T>(0.4));
  d->add(Dense<T>(256, 1)).add(Sigmoid<T>());
  d->initialize(rng);
  return d;
}

/// 4. minimal: the smallest dense GAN, images in [0, 1].
template <class T>
Model<T> minimal_generator(Rng& rng) {
  using namespace nn;
  auto g = std::make_shared<Sequential<T>>();
  g->add(Dense<T>(kLatent, 256)).add(ReLU<T>())
      .add(Dense<T>(256, kPixels)).add(Sigmoid<T>())
      .add(Reshape<T>({28, 28}));
  g->initialize(rng);
  return g;
}

template <class T>
Model<T> minimal_discriminator(Rng& rng) {
  using namespace nn;
  auto d = std::make_shared<Sequential<T>>();
  d->add(Flatten<T>())
      .add(Dense<T>(kPixels, 256)).add(ReLU<T>())
      .add(Dense<T>(256, 1)).add(Sigmoid<T>());
  d->initialize(rng);
  return d;
}

/// 5. inverted: an autoencoder generator (784 -> 32 -> 784) that learns to
/// turn digits dark-on-white, with dropout after every LReLU but the
/// bottleneck's.
template <class T>
Model<T> inverted_generator(Rng& rng) {
  using namespace nn;
  auto g = std::make_shared<Sequential<T>>();
  const Index widths[] = {kPixels, 512, 256, 128, 64, 32, 64, 128, 256, 512};
  for (std::size_t i = 0; i + 1 < std::size(widths); ++i) {
    g->add(Dense<T>(widths[i], widths[i + 1])).add(LeakyReLU<T>(kSlope));
    if (widths[i + 1] != 32) g->add(Dropout<T>(0.3));
  }
  g->add(Dense<T>(512, kPixels)).add(Sigmoid<T>());
  g->initialize(rng);
  return g;
}

template <class T>
Model<T> inverted_discriminator(Rng& rng) {
  using namespace nn;
  auto d = std::make_shared<Sequential<T>>();
  d->add(Dense<T>(kPixels, 512)).add(LeakyReLU<T>(kSlope))
      .add(Dense<T>(512, 256)).add(LeakyReLU<T>(kSlope))
      .add(Dense<T>(256, 1)).add(Sigmoid<T>());
  d->initialize(rng);
  return d;
}

/// G followed by D in one model (Keras's "combined" model). The modules are
/// shared, not copied: freezing D here freezes the D that is trained.
template <class T>
Model<T> combined(const Model<T>& generator, const Model<T>& discriminator) {
  auto gan = std::make_shared<nn::Sequential<T>>();
  gan->add(generator).add(discriminator);
  return gan;
}

}  // namespace tinygan::models
