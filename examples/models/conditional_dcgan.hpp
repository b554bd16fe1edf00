// The conditional DCGAN: docs/models.md's DCGAN told which class to draw.
// G(z, y) reads z beside the label's embedding (kLabelFeatures values). D(x, y)
// comes in two kinds:
//  - label channels: the label's embedding spread over the picture as
//    kLabelFeatures extra input channels (Mirza and Osindero's cGAN, as
//    convolutional cGANs feed it);
//  - projection (Miyato and Koyama, 2018): the unconditional D's features f(x)
//    [N, 6272], scored by its own head plus <embed(y), f(x)>.
// With an auxiliary classifier (AC-GAN, --ac-gan) the projection D also gives
// 10 class logits from f(x): its output is [N, 11].
#pragma once

#include <memory>
#include <string>

#include "dcgan.hpp"

namespace mnist {

constexpr Index kLabelFeatures = 10;  // the label's embedding in G and in label-channel D

/// How a conditional D reads the label.
enum class LabelInput { channels, projection };

inline LabelInput label_input(const std::string& name) {
  tinygan::check(name == "channels" || name == "projection",
                 "conditional DCGAN: expected a discriminator kind of channels or projection, found '", name, "'");
  return name == "channels" ? LabelInput::channels : LabelInput::projection;
}

template <class T>
std::shared_ptr<tinygan::nn::Module<T>> conditional_dcgan_generator(tinygan::Rng& rng, Index classes,
                                                                    Index channels = 1) {
  auto g = std::make_shared<tinygan::nn::LabelConcat<T>>(
      classes, kLabelFeatures, dcgan_generator<T>(rng, channels, kLatent + kLabelFeatures));
  tinygan::nn::init::dcgan_normal(*g, rng);  // the embedding stays N(0, 1), as PyTorch's
  return g;
}

template <class T>
std::shared_ptr<tinygan::nn::Module<T>> conditional_dcgan_discriminator(tinygan::Rng& rng, LabelInput kind,
                                                                        tinygan::gan::DiscriminatorOutput output,
                                                                        Index classes, Index channels = 1,
                                                                        bool classifier = false) {
  using namespace tinygan::nn;
  tinygan::check(!classifier || kind == LabelInput::projection, "conditional DCGAN: the AC-GAN classifier head "
                 "(--ac-gan) is built on the projection D, not on label channels");
  if (kind == LabelInput::channels) {
    auto d = std::make_shared<LabelConcat<T>>(classes, kLabelFeatures,
                                              dcgan_discriminator<T>(rng, output, channels + kLabelFeatures));
    init::dcgan_normal(*d, rng);
    return d;
  }
  auto body = std::make_shared<Sequential<T>>();
  add_dcgan_features(*body, channels);
  auto d = std::make_shared<ProjectionDiscriminator<T>>(
      body, kDcganFeatures, classes, output == tinygan::gan::DiscriminatorOutput::probabilities, classifier);
  init::dcgan_normal(*d, rng);
  // The projection adds 6,272 products per sample: at N(0, 1) its embedding would
  // swamp the head's score, so it starts at the head's scale.
  init::normal(d->embed().weight().value(), rng, 0.0, 0.02);
  return d;
}

}  // namespace mnist
