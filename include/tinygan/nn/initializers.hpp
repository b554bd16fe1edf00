/// \file
/// Whole-model initialization schemes.
#pragma once

#include <cmath>
#include <vector>

#include "tinygan/nn/batch_norm.hpp"
#include "tinygan/nn/weighted.hpp"

namespace tinygan::nn::init {

/// The DCGAN paper's scheme (as in PyTorch's DCGAN example): every Dense and
/// convolution weight N(0, stddev), biases 0; BatchNorm weight N(1, stddev),
/// bias 0. Dropout streams are reseeded from rng as well.
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

/// He et al. (2015), PyTorch's kaiming_normal_ (fan_in, gain sqrt(2)), for
/// the hidden layers: every Dense and convolution weight but the output
/// layer's is drawn N(0, sqrt(2 / fan_in)), its bias set to 0. Through a ReLU
/// stack this keeps the activations' scale, where PyTorch's default shrinks
/// their variance about sixfold per layer (a deep dense generator then starts
/// out mapping every z to nearly the same image). The output layer, which
/// feeds a tanh or sigmoid, keeps its initialization: at He's scale it would
/// saturate them into salt-and-pepper noise.
template <class T>
void he_normal_hidden(Module<T>& model, Rng& rng) {
  std::vector<Weighted<T>*> layers;
  model.visit([&](Module<T>& m) {
    if (auto* w = dynamic_cast<Weighted<T>*>(&m)) layers.push_back(w);
  });
  for (std::size_t i = 0; i + 1 < layers.size(); ++i) {
    Weighted<T>& w = *layers[i];
    normal(w.weight().value(), rng, 0.0, std::sqrt(2.0) * default_bound(w.weight().value()));
    if (w.bias().defined()) w.bias().value().fill(T(0));
  }
}

}  // namespace tinygan::nn::init
