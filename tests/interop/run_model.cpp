// run_model: the tinygan side of scripts/torch_interop.py. It builds one of
// the example networks (examples/models/) and either saves its freshly
// initialized weights (with INPUT.npy: after three forward passes over it in
// training mode, so that BatchNorm's running statistics are not 0 and 1 in
// the networks that no example program trains here), or loads weights (a
// state dict in safetensors, names and layouts as PyTorch's) and runs it in
// inference mode on a .npy input:
//
//   run_model init MODEL SEED WEIGHTS.safetensors [INPUT.npy]
//   run_model run  MODEL WEIGHTS.safetensors INPUT.npy OUTPUT.npy
//
// MODEL: dcgan-generator (input [N, 100]), dcgan-discriminator ([N, 1, 28, 28]),
// inverted-autoencoder ([N, 784]), or pytorch/examples' colour DCGAN
// (examples/models/pytorch_dcgan.hpp) at 32 or 64 pixels: dcgan32-generator,
// dcgan64-generator ([N, 100]), dcgan32-discriminator ([N, 3, 32, 32]),
// dcgan64-discriminator ([N, 3, 64, 64]); or the conditional DCGAN
// (examples/models/conditional_dcgan.hpp, 10 classes): cdcgan-generator
// ([N, 100]), cdcgan-projection-discriminator and cdcgan-channels-discriminator
// ([N, 1, 28, 28]), whose label for input row i is i mod 10. Inference mode is nn::predict's: eval
// (BatchNorm uses its running statistics, Dropout passes its input through),
// no gradient. Loading is io::load_weights, strict: a missing, extra or
// misshapen tensor is an error naming it.
#include <tinygan/io/npy.hpp>
#include <tinygan/io/state_dict.hpp>
#include <tinygan/nn/predict.hpp>

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>
#include "models/conditional_dcgan.hpp"
#include "models/dcgan.hpp"
#include "models/inverted.hpp"
#include "models/pytorch_dcgan.hpp"

using namespace tinygan;

namespace {

constexpr const char* kUsage =
    "Usage: run_model init MODEL SEED WEIGHTS.safetensors [INPUT.npy]\n"
    "       run_model run  MODEL WEIGHTS.safetensors INPUT.npy OUTPUT.npy\n"
    "MODEL: dcgan-generator, dcgan-discriminator, inverted-autoencoder,\n"
    "       dcgan32-generator, dcgan32-discriminator, dcgan64-generator, dcgan64-discriminator,\n"
    "       cdcgan-generator, cdcgan-projection-discriminator or cdcgan-channels-discriminator\n";

constexpr Index kClasses = 10;  // the conditional models': input row i asks for class i mod 10

std::shared_ptr<nn::Module<float>> build(const std::string& name, Rng& rng) {
  using mnist::LabelInput;
  const auto probabilities = gan::DiscriminatorOutput::probabilities;
  if (name == "cdcgan-generator") return mnist::conditional_dcgan_generator<float>(rng, kClasses);
  if (name == "cdcgan-projection-discriminator")
    return mnist::conditional_dcgan_discriminator<float>(rng, LabelInput::projection, probabilities, kClasses);
  if (name == "cdcgan-channels-discriminator")
    return mnist::conditional_dcgan_discriminator<float>(rng, LabelInput::channels, probabilities, kClasses);
  if (name == "dcgan-generator") return mnist::dcgan_generator<float>(rng);
  if (name == "dcgan-discriminator") return mnist::dcgan_discriminator<float>(rng);
  if (name == "dcgan-critic") return mnist::dcgan_critic<float>(rng, false);
  if (name == "dcgan-critic-sn") return mnist::dcgan_critic<float>(rng, true);
  if (name == "inverted-autoencoder") return mnist::inverted_generator<float>(rng);
  for (const Index size : {32, 64}) {  // pytorch/examples' DCGAN in colour
    const std::string prefix = "dcgan" + std::to_string(size);
    if (name == prefix + "-generator") return images::dcgan_generator<float>(rng, size, 3);
    if (name == prefix + "-discriminator")
      return images::dcgan_discriminator<float>(rng, gan::DiscriminatorOutput::probabilities, size, 3);
  }
  throw Error("unknown model '" + name +
              "'; expected dcgan-generator, dcgan-discriminator, dcgan-critic, dcgan-critic-sn, inverted-autoencoder, "
              "dcgan32-generator, "
              "dcgan32-discriminator, dcgan64-generator, dcgan64-discriminator, cdcgan-generator, "
              "cdcgan-projection-discriminator or cdcgan-channels-discriminator");
}



std::uint64_t parse_seed(const std::string& text) {
  std::size_t used = 0;
  std::uint64_t seed = 0;
  try {
    seed = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  check(used == text.size() && !text.empty() && text[0] != '-',
        "expected a seed (a non-negative integer), found '", text, "'");
  return seed;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if ((args.size() == 4 || args.size() == 5) && args[0] == "init") {
      Rng rng(parse_seed(args[2]));
      auto model = build(args[1], rng);
      if (args.size() == 5) {
        const Var<float> x(io::load_npy(args[4]));
        const Tensor<float> labels = gan::every_class(x.shape()[0], kClasses);
        NoGrad no_grad;
        for (int pass = 0; pass < 3; ++pass) nn::apply(*model, x, &labels);  // training mode: running statistics move
      }
      io::save_weights(args[3], *model);
      return 0;
    }
    if (args.size() == 5 && args[0] == "run") {
      Rng rng(0);  // the initial weights are all replaced by the file's
      auto model = build(args[1], rng);
      io::load_weights(args[2], *model);
      const Tensor<float> x = io::load_npy(args[3]), labels = gan::every_class(x.dim(0), kClasses);
      io::save_npy(args[4], nn::predict(*model, x, 500, &labels));
      return 0;
    }
    std::cerr << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "run_model: " << e.what() << "\n";
    return 1;
  }
}
