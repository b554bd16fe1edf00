// mnist_dense: the dense GANs of docs/models.md (models 2, 3 and 4) on MNIST.
#include <tinygan/gan.hpp>
#include <tinygan/gan/program.hpp>  // the programs' shared command line, training run and outputs

#include "models/dense.hpp"

using namespace tinygan;

int main(int argc, char** argv) {
  const char* init = "PyTorch default (kaiming-uniform)";

  gan::ModelSpec dense;  // 2. a plain multilayer perceptron GAN
  dense.name = "dense";
  dense.make_generator = mnist::dense_generator<float>;
  dense.make_discriminator = mnist::dense_discriminator<float>;
  dense.init = init;
  dense.sample_shape = Shape{784};
  dense.image_shape = Shape{1, 28, 28};
  // --recipe best (docs/results.md): He-initialized hidden layers (PyTorch's
  // default starts G collapsed), Adam at 4e-4, sampling from the weights'
  // moving average, the D step's fakes reused, and the R1 penalty, which
  // keeps every digit above 5% from the first epoch (6e-4 with it had a
  // shock mid-run).
  dense.best_recipe = dense.recipe;
  dense.best_recipe.he_init = true;
  dense.best_recipe.lr_g = dense.best_recipe.lr_d = 4e-4;
  dense.best_recipe.ema_decay = 0.999;
  dense.best_recipe.reuse_fakes = true;
  dense.best_recipe.r1_gamma = 10;
  dense.real_batch = dense.fake_batch = dense.g_batch = 64;
  dense.epochs = 50;
  dense.sample_every = 0;  // every epoch
  dense.log_every = 500;

  gan::ModelSpec dense_bn;  // 3. batch norm in G, dropout in D
  dense_bn.name = "dense-bn";
  dense_bn.make_generator = mnist::dense_bn_generator<float>;
  dense_bn.make_discriminator = mnist::dense_bn_discriminator<float>;
  dense_bn.init = init;
  dense_bn.sample_shape = Shape{784};
  dense_bn.image_shape = Shape{1, 28, 28};
  dense_bn.best_recipe = dense_bn.recipe;  // --recipe best: sampling from the weights' moving
  dense_bn.best_recipe.ema_decay = 0.999;  // average holds the FID minimum (docs/results.md)
  dense_bn.real_batch = dense_bn.fake_batch = 32;  // 32 real + 32 fake for D,
  dense_bn.g_batch = 64;                           // 64 noise vectors for the G step
  dense_bn.iterations = 20000;
  dense_bn.sample_every = 1000;
  dense_bn.log_every = 1000;

  gan::ModelSpec minimal;  // 4. the smallest dense GAN, pixels in [0, 1]
  minimal.name = "minimal";
  minimal.make_generator = mnist::minimal_generator<float>;
  minimal.make_discriminator = mnist::minimal_discriminator<float>;
  minimal.init = init;
  minimal.sample_shape = Shape{28, 28};
  minimal.image_shape = Shape{1, 28, 28};
  minimal.unit_range = true;
  minimal.recipe.lr_g = minimal.recipe.lr_d = 1e-3;  // Adam's defaults
  minimal.recipe.beta1 = 0.9;
  // --recipe best: the R1 gradient penalty and the weights' moving average;
  // with it every digit holds at least 5% of the samples at every score
  // (seeds 42, 1, 2; docs/results.md).
  minimal.best_recipe = minimal.recipe;
  minimal.best_recipe.r1_gamma = 1;
  minimal.best_recipe.ema_decay = 0.999;
  minimal.real_batch = minimal.fake_batch = minimal.g_batch = 32;
  minimal.iterations = 10000;
  minimal.sample_every = 100;  // a strip of 10 samples every 100 iterations
  minimal.samples = minimal.sample_columns = 10;
  minimal.log_every = 100;

  return gan::run_program(argc, argv, "mnist_dense", {dense, dense_bn, minimal});
}
