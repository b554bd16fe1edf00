// What the MNIST networks of docs/models.md share: the latent size, the image
// size, the LeakyReLU slope, and the pointer type the examples pass around.
#pragma once

#include <memory>

#include <tinygan/gan.hpp>

namespace mnist {

using tinygan::Index;
constexpr Index kLatent = 100;
constexpr Index kPixels = 28 * 28;
constexpr double kSlope = 0.2;

template <class T>
using Model = std::shared_ptr<tinygan::nn::Sequential<T>>;

/// D's last layer: a Sigmoid when it is declared to output probabilities,
/// none when it outputs logits (the trainer then uses BCE-with-logits).
template <class T>
void add_output(tinygan::nn::Sequential<T>& d, tinygan::gan::DiscriminatorOutput output) {
  if (output == tinygan::gan::DiscriminatorOutput::probabilities) d.add(tinygan::nn::Sigmoid<T>());
}

/// G followed by D in one model (Keras's "combined" model). The modules are
/// shared, not copied: freezing D here freezes the D that is trained.
template <class T>
Model<T> combined(const Model<T>& generator, const Model<T>& discriminator) {
  auto gan = std::make_shared<tinygan::nn::Sequential<T>>();
  gan->add(generator).add(discriminator);
  return gan;
}

}  // namespace mnist
