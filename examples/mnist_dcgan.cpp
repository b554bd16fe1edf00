// mnist_dcgan: the convolutional GAN of docs/models.md (model 1) on MNIST.
#include <tinygan/gan.hpp>
#include <tinygan/gan/program.hpp>  // the programs' shared command line, training run and outputs

#include "models/dcgan.hpp"

using namespace tinygan;

int main(int argc, char** argv) {
  gan::ModelSpec dcgan;
  dcgan.name = "dcgan";
  dcgan.make_generator = [](Rng& rng) { return mnist::dcgan_generator<float>(rng); };
  dcgan.make_discriminator = [](Rng& rng, gan::DiscriminatorOutput out) {
    return mnist::dcgan_discriminator<float>(rng, out);
  };
  dcgan.make_critic = [](Rng& rng, const gan::Recipe& recipe) {
    return mnist::dcgan_critic<float>(rng, recipe.spectral_norm);
  };
  dcgan.init = "normal(0, 0.02) weights, BatchNorm scale normal(1, 0.02) (DCGAN)";
  dcgan.sample_shape = Shape{1, 28, 28};
  dcgan.image_shape = Shape{1, 28, 28};
  dcgan.recipe = mnist::dcgan_recipe();  // Adam lr 2e-4, betas (0.5, 0.999)
  dcgan.best_recipe = mnist::dcgan_best_recipe();
  dcgan.real_batch = dcgan.fake_batch = dcgan.g_batch = 64;
  dcgan.epochs = 1;           // docs/models.md sets no length; one epoch fits the quick start
  dcgan.sample_every = 100;
  dcgan.log_every = 50;
  return gan::run_program(argc, argv, "mnist_dcgan", {dcgan});
}
