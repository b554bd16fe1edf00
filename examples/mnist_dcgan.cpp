// mnist_dcgan: the convolutional GAN of MODELS.md (model 1) on MNIST.
#include <tinygan/gan.hpp>

using namespace tinygan;

int main(int argc, char** argv) {
  gan::ModelSpec dcgan;
  dcgan.name = "dcgan";
  dcgan.make_generator = models::dcgan_generator<float>;
  dcgan.make_discriminator = models::dcgan_discriminator<float>;
  dcgan.init = "normal(0, 0.02) weights, BatchNorm scale normal(1, 0.02) (DCGAN)";
  dcgan.sample_shape = Shape{1, 28, 28};
  dcgan.recipe.beta1 = 0.5;  // Adam lr 2e-4, betas (0.5, 0.999)
  dcgan.best_recipe = dcgan.recipe;  // --recipe best (docs/results.md measures each switch)
  dcgan.best_recipe.real_label = 0.9;
  dcgan.best_recipe.ema_decay = 0.999;
  dcgan.real_batch = dcgan.fake_batch = dcgan.g_batch = 64;
  dcgan.epochs = 1;           // MODELS.md sets no length; one epoch fits the quick start
  dcgan.sample_every = 100;
  dcgan.log_every = 50;
  return gan::run_program(argc, argv, "mnist_dcgan", {dcgan});
}
