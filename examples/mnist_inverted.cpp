// mnist_inverted: docs/models.md's model 5, an autoencoder generator that learns
// to turn MNIST 8s into dark-on-white 8s, judged by a dense discriminator.
#include <tinygan/gan.hpp>
#include <tinygan/gan/program.hpp>  // the programs' shared command line, training run and outputs

#include "models/inverted.hpp"

using namespace tinygan;

int main(int argc, char** argv) {
  gan::ModelSpec inverted;
  inverted.name = "inverted";
  inverted.make_generator = mnist::inverted_generator<float>;
  inverted.make_discriminator = mnist::inverted_discriminator<float>;
  inverted.init = "PyTorch default (kaiming-uniform)";
  inverted.sample_shape = Shape{784};
  inverted.image_shape = Shape{1, 28, 28};
  inverted.latent = 0;  // G takes digits, not noise
  inverted.unit_range = true;
  inverted.digits = {8};
  inverted.inverted = true;
  inverted.recipe.beta1 = 0.9;  // Adam lr 2e-4 with its default betas
  inverted.recipe.g_loss = gan::GeneratorLoss::msle;
  inverted.best_recipe = inverted.recipe;
  inverted.best_recipe.pixel_loss = 10;  // --recipe best: docs/models.md's fails, this works (docs/results.md)
  inverted.real_batch = inverted.fake_batch = inverted.g_batch = 128;
  inverted.iterations = 5001;
  inverted.sample_every = 1000;
  inverted.score_every = 250;  // its "epochs" are 45 random index sets: score less often
  inverted.samples = 32;
  inverted.log_every = 100;
  return gan::run_program(argc, argv, "mnist_inverted", {inverted}, /*has_input=*/true);
}
