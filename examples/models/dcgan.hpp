// The DCGAN of docs/models.md: z[100] -> 1x28x28 in [-1, 1] through three
// transposed convolutions, and a convolutional critic. With channels 3 the
// same networks make and judge 3x28x28 colour pictures (image_dcgan --size 28). Shapes NCHW, k5
// "same" padding 2 as in PyTorch; weights drawn N(0, 0.02)
// (nn::init::dcgan_normal), dropout streams seeded from rng too.
#pragma once

#include "common.hpp"

namespace mnist {

/// The DCGAN's training settings: docs/models.md's Adam (lr 2e-4, betas
/// (0.5, 0.999)), and --recipe best (measured in docs/results.md).
inline tinygan::gan::Recipe dcgan_recipe() {
  tinygan::gan::Recipe recipe;
  recipe.beta1 = 0.5;
  return recipe;
}
/// --recipe best for a D that keeps its BatchNorm (the 32- and 64-pixel
/// DCGAN and the conditional D, which have no critic variant): D on logits,
/// reused fakes, Adam at twice the rate, samples from the weights' moving average.
inline tinygan::gan::Recipe dcgan_batchnorm_best_recipe() {
  tinygan::gan::Recipe best = dcgan_recipe();
  best.d_logits = true;
  best.reuse_fakes = true;
  best.lr_g = best.lr_d = 4e-4;
  best.ema_decay = 0.999;
  return best;
}
/// --recipe best: the same with the hinge loss on the spectrally normalized
/// critic: at equal time a third lower FID on MNIST, a seventh to a fifth on
/// Fashion-MNIST.
inline tinygan::gan::Recipe dcgan_best_recipe() {
  tinygan::gan::Recipe best = dcgan_batchnorm_best_recipe();
  best.loss = tinygan::gan::AdversarialLoss::hinge;
  best.spectral_norm = true;
  return best;
}

/// `inputs`: z's size, and a conditional G's label embedding beside it (models/conditional_dcgan.hpp).
template <class T>
Model<T> dcgan_generator(tinygan::Rng& rng, Index channels = 1, Index inputs = kLatent) {
  using namespace tinygan::nn;
  auto g = std::make_shared<Sequential<T>>();
  g->add(Dense<T>(DenseOptions(inputs, 256 * 7 * 7).bias(false)))
      .add(BatchNorm<T>(256 * 7 * 7))
      .add(LeakyReLU<T>(kSlope))
      .add(Reshape<T>({256, 7, 7}))
      .add(Conv2DTranspose<T>(Conv2DTransposeOptions(256, 128, 5).padding(2).bias(false)))      // 128 x 7 x 7
      .add(BatchNorm<T>(128))
      .add(LeakyReLU<T>(kSlope))
      .add(Conv2DTranspose<T>(
          Conv2DTransposeOptions(128, 64, 5).stride(2).padding(2).output_padding(1).bias(false)))  // 64 x 14 x 14
      .add(BatchNorm<T>(64))
      .add(LeakyReLU<T>(kSlope))
      .add(Conv2DTranspose<T>(
          Conv2DTransposeOptions(64, channels, 5).stride(2).padding(2).output_padding(1).bias(false)))  // C x 28 x 28
      .add(Tanh<T>());
  init::dcgan_normal(*g, rng);
  return g;
}

/// D's features: its layers up to the head, C x 28 x 28 -> [N, kDcganFeatures].
constexpr Index kDcganFeatures = 128 * 7 * 7;
template <class T>
void add_dcgan_features(tinygan::nn::Sequential<T>& d, Index channels) {
  using namespace tinygan::nn;
  d.add(Conv2D<T>(Conv2DOptions(channels, 64, 5).stride(2).padding(2)))  // 64 x 14 x 14
      .add(LeakyReLU<T>(kSlope))
      .add(Dropout<T>(0.3))
      .add(Conv2D<T>(Conv2DOptions(64, 128, 5).stride(2).padding(2)))  // 128 x 7 x 7
      .add(BatchNorm<T>(128))
      .add(LeakyReLU<T>(kSlope))
      .add(Dropout<T>(0.3))
      .add(Flatten<T>());
}

/// The critic variant, for WGAN-GP's penalty and spectral normalization: D's
/// convolutions and head without BatchNorm (it would couple the samples whose
/// gradients the penalty judges), without Dropout (as the WGAN-GP and SNGAN
/// critics) and without a Sigmoid; with spectral_norm every weighted layer
/// is spectrally normalized.
template <class T>
Model<T> dcgan_critic(tinygan::Rng& rng, bool spectral_norm, Index channels = 1) {
  using namespace tinygan::nn;
  auto d = std::make_shared<Sequential<T>>();
  d->add(Conv2D<T>(Conv2DOptions(channels, 64, 5).stride(2).padding(2).spectral_norm(spectral_norm)))  // 64 x 14 x 14
      .add(LeakyReLU<T>(kSlope))
      .add(Conv2D<T>(Conv2DOptions(64, 128, 5).stride(2).padding(2).spectral_norm(spectral_norm)))  // 128 x 7 x 7
      .add(LeakyReLU<T>(kSlope))
      .add(Flatten<T>())
      .add(Dense<T>(DenseOptions(kDcganFeatures, 1).spectral_norm(spectral_norm)));
  init::dcgan_normal(*d, rng);
  return d;
}

template <class T>
Model<T> dcgan_discriminator(tinygan::Rng& rng, tinygan::gan::DiscriminatorOutput output = {}, Index channels = 1) {
  using namespace tinygan::nn;
  auto d = std::make_shared<Sequential<T>>();
  add_dcgan_features(*d, channels);
  d->add(Dense<T>(kDcganFeatures, 1));
  add_output(*d, output);
  init::dcgan_normal(*d, rng);
  return d;
}

}  // namespace mnist
