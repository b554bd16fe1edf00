// image_dcgan: a DCGAN on any pictures: MNIST, Fashion-MNIST, CIFAR-10, the
// Twemoji, or a folder of one's own, in grey or colour, at 28, 32 or 64
// pixels. At 28 pixels it is mnist_dcgan's network (docs/models.md) with C
// channels; at 32 and 64, pytorch/examples' DCGAN (models/pytorch_dcgan.hpp).
// Every flag and output of mnist_dcgan works here too.
#include <tinygan/gan.hpp>
#include <tinygan/gan/program.hpp>  // the programs' shared command line, training run and outputs

#include "models/conditional_dcgan.hpp"
#include "models/dcgan.hpp"
#include "models/pytorch_dcgan.hpp"

using namespace tinygan;

namespace {

constexpr std::int64_t kScoreEvery = 500;  // small sets have short epochs: score by iterations

gan::ModelSpec dcgan_for(const gan::CliOptions& cli) {
  const bool digits_or_clothes = cli.dataset == "mnist" || cli.dataset == "fashion-mnist";
  const Index size = cli.size.value_or(digits_or_clothes ? 28 : 32);
  const Index channels = cli.channels.value_or(digits_or_clothes ? 1 : 3);
  gan::ModelSpec dcgan;
  dcgan.name = (cli.conditional.empty() ? "dcgan" : "cdcgan") + std::to_string(size);
  dcgan.dataset = cli.dataset;
  if (!cli.conditional.empty()) {
    if (size != 28)
      throw gan::UsageError("image_dcgan: --conditional is built on the 28-pixel DCGAN so far: give --size 28 (found " +
                            std::to_string(size) + (cli.size ? ")" : ", the data set's default)"));
    const mnist::LabelInput kind = mnist::label_input(cli.conditional);
    dcgan.conditional = cli.conditional;
    dcgan.make_conditional_generator = [channels](Rng& rng, Index classes) {
      return mnist::conditional_dcgan_generator<float>(rng, classes, channels);
    };
    dcgan.make_conditional_discriminator = [kind, channels](Rng& rng, const gan::Recipe& recipe, Index classes) {
      return mnist::conditional_dcgan_discriminator<float>(rng, kind, gan::discriminator_output(recipe), classes,
                                                           channels, recipe.ac_gan > 0);
    };
  }
  if (size == 28) {
    dcgan.make_generator = [channels](Rng& rng) { return mnist::dcgan_generator<float>(rng, channels); };
    dcgan.make_discriminator = [channels](Rng& rng, gan::DiscriminatorOutput out) {
      return mnist::dcgan_discriminator<float>(rng, out, channels);
    };
    dcgan.make_critic = [channels](Rng& rng, const gan::Recipe& recipe) {
      return mnist::dcgan_critic<float>(rng, recipe.spectral_norm, channels);
    };
  } else {
    dcgan.make_generator = [size, channels](Rng& rng) { return images::dcgan_generator<float>(rng, size, channels); };
    dcgan.make_discriminator = [size, channels](Rng& rng, gan::DiscriminatorOutput out) {
      return images::dcgan_discriminator<float>(rng, out, size, channels);
    };
  }
  dcgan.init = "normal(0, 0.02) weights, BatchNorm scale normal(1, 0.02) (DCGAN)";
  dcgan.image_shape = dcgan.sample_shape = Shape{channels, size, size};
  // Both DCGANs train with Adam 2e-4, betas (0.5, 0.999). --recipe best is
  // mnist_dcgan's measured best where the critic it needs exists (28 pixels,
  // unconditional); elsewhere its settings for a D with BatchNorm, not yet
  // measured at 32 and 64 pixels.
  dcgan.recipe = mnist::dcgan_recipe();
  dcgan.best_recipe = dcgan.make_critic && cli.conditional.empty() ? mnist::dcgan_best_recipe()
                                                                   : mnist::dcgan_batchnorm_best_recipe();
  dcgan.real_batch = dcgan.fake_batch = dcgan.g_batch = 64;
  dcgan.iterations = 2000;  // a few minutes at 28 and 32 pixels on 2 cores; --iters, --epochs, --minutes set others
  dcgan.sample_every = 100;
  dcgan.score_every = kScoreEvery;
  dcgan.log_every = 50;
  return dcgan;
}

}  // namespace

int main(int argc, char** argv) {
  gan::CliSpec cli;
  cli.program = "image_dcgan";
  cli.any_images = true;
  cli.sizes = {28, 32, 64};
  cli.conditional = true;
  cli.critic = true;  // at 28 pixels (the 32- and 64-pixel D has no critic variant yet)
  cli.score_when = "every " + std::to_string(kScoreEvery) + " iterations";
  cli.about = "Trains a DCGAN on a data set or a folder of pictures and writes samples, losses and weights.";
  return gan::run_program(argc, argv, cli, [](const gan::CliOptions& options) {
    return std::vector<gan::ModelSpec>{dcgan_for(options)};
  });
}
