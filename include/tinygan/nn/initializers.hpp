// Whole-model initialization schemes.
#pragma once

#include "tinygan/nn/batch_norm.hpp"
#include "tinygan/nn/weighted.hpp"

namespace tinygan::nn::init {

// The DCGAN paper's scheme (as in PyTorch's DCGAN example): every Dense and
// convolution weight N(0, stddev), biases 0; BatchNorm weight N(1, stddev),
// bias 0. Dropout streams are reseeded from rng as well.
template <class T>
void dcgan_normal(Module<T>& model, Rng& rng, double stddev = 0.02) {
  model.initialize(rng);  // reseeds every stream; the weights are redrawn below
  model.visit([&](Module<T>& m) {
    if (auto* w = dynamic_cast<Weighted<T>*>(&m)) {
      normal(w->weight().value(), rng, 0.0, stddev);
      if (w->bias().defined()) w->bias().value().fill(T(0));
    } else if (auto* bn = dynamic_cast<BatchNorm<T>*>(&m)) {
      normal(bn->weight().value(), rng, 1.0, stddev);
      bn->bias().value().fill(T(0));
    }
  });
}

}  // namespace tinygan::nn::init
