// pytorch/examples' DCGAN (Radford et al., 2016) for 64x64 pictures, and the
// same without its widest block for 32x32, as common 32-pixel DCGANs are:
// z[100] -> C x S x S through 4x4 transposed convolutions at stride 2 with
// BatchNorm and ReLU, and a critic of 4x4 stride-2 convolutions with
// BatchNorm and LeakyReLU 0.2; no biases; weights N(0, 0.02), BatchNorm scale
// N(1, 0.02). The layers sit in a Sequential called "main", as in PyTorch's
// model, so the state_dict names ("main.0.weight", ...) and layouts are the
// same and weights travel both ways (scripts/torch_interop.py).
#pragma once

#include <vector>

#include "common.hpp"

namespace images {

using tinygan::Index;
constexpr Index kLatent = 100;
constexpr Index kWidth = 64;  // ngf = ndf
constexpr double kSlope = 0.2;

/// The channel widths from the 4x4 layer up: 8, 4, 2, 1 times kWidth for 64
/// pixels; 4, 2, 1 for 32.
inline std::vector<Index> widths(Index size) {
  tinygan::check(size == 32 || size == 64, "pytorch DCGAN: expected a size of 32 or 64 pixels, found ", size);
  return size == 64 ? std::vector<Index>{8 * kWidth, 4 * kWidth, 2 * kWidth, kWidth}
                    : std::vector<Index>{4 * kWidth, 2 * kWidth, kWidth};
}

template <class T>
mnist::Model<T> dcgan_generator(tinygan::Rng& rng, Index size, Index channels) {
  using namespace tinygan::nn;
  const std::vector<Index> w = widths(size);
  auto main = std::make_shared<Sequential<T>>();
  main->add(Conv2DTranspose<T>(Conv2DTransposeOptions(kLatent, w[0], 4).bias(false)))  // 4 x 4
      .add(BatchNorm<T>(w[0]))
      .add(ReLU<T>());
  for (std::size_t i = 1; i < w.size(); ++i)
    main->add(Conv2DTranspose<T>(Conv2DTransposeOptions(w[i - 1], w[i], 4).stride(2).padding(1).bias(false)))
        .add(BatchNorm<T>(w[i]))
        .add(ReLU<T>());
  main->add(Conv2DTranspose<T>(Conv2DTransposeOptions(w.back(), channels, 4).stride(2).padding(1).bias(false)))
      .add(Tanh<T>());
  auto g = std::make_shared<Sequential<T>>();
  g->add(Reshape<T>({kLatent, 1, 1})).add("main", main);  // z [N, 100] as PyTorch's [N, 100, 1, 1]
  init::dcgan_normal(*g, rng);
  return g;
}

template <class T>
mnist::Model<T> dcgan_discriminator(tinygan::Rng& rng, tinygan::gan::DiscriminatorOutput output, Index size,
                                    Index channels) {
  using namespace tinygan::nn;
  std::vector<Index> w = widths(size);  // widest last in D
  std::reverse(w.begin(), w.end());
  auto main = std::make_shared<Sequential<T>>();
  main->add(Conv2D<T>(Conv2DOptions(channels, w[0], 4).stride(2).padding(1).bias(false)))
      .add(LeakyReLU<T>(kSlope));
  for (std::size_t i = 1; i < w.size(); ++i)
    main->add(Conv2D<T>(Conv2DOptions(w[i - 1], w[i], 4).stride(2).padding(1).bias(false)))
        .add(BatchNorm<T>(w[i]))
        .add(LeakyReLU<T>(kSlope));
  main->add(Conv2D<T>(Conv2DOptions(w.back(), 1, 4).bias(false)));  // 1 x 1: one logit
  auto d = std::make_shared<Sequential<T>>();
  d->add("main", main).add(Flatten<T>());
  mnist::add_output(*d, output);
  init::dcgan_normal(*d, rng);
  return d;
}

}  // namespace images
