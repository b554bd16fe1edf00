/// \file
/// R1, the gradient penalty of Mescheder, Geiger and Nowozin (2018, "Which
/// training methods for GANs do actually converge?"): gamma / 2 times the
/// batch mean of |d logit(x) / dx|^2 over real samples, added to D's loss. It
/// keeps D from turning steep around the data, the pull that makes a
/// generator drop digits (docs/results.md measures it on the dense models).
///
/// The autograd has no double backward, so the input gradient is built as a
/// graph of its own. For D made of Dense layers and piecewise-linear
/// activations, d logit / dx = w_L M_{L-1} W_{L-1} ... M_1 W_1 (per sample,
/// as a row vector), where M_k holds each unit's activation slope at this
/// batch: constant almost everywhere, so its own derivative is zero. Made of
/// matmul and mul, that graph's backward is the penalty's gradient with
/// respect to the weights.
#pragma once

#include <string>
#include <vector>

#include "tinygan/autograd/grad_mode.hpp"
#include "tinygan/nn/activations.hpp"
#include "tinygan/nn/dense.hpp"
#include "tinygan/nn/sequential.hpp"
#include "tinygan/ops/elementwise.hpp"
#include "tinygan/ops/matmul.hpp"

namespace tinygan::gan {

namespace detail {

/// The layers R1 runs through: all of d, or all but its final Sigmoid when d
/// is declared to output probabilities (the penalty is on the logit).
template <class T>
std::size_t r1_layer_count(const nn::Sequential<T>& d, bool outputs_logits) {
  std::size_t n = d.size();
  if (!outputs_logits) {
    check(n > 0 && d[n - 1].type_name() == "Sigmoid", "R1 penalty: a discriminator declared to output "
          "probabilities must end in a Sigmoid (the penalty is on the logit before it); its last layer is ",
          n > 0 ? d[n - 1].type_name() : std::string("missing"));
    --n;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::string type = d[i].type_name();
    check(type == "Dense" || type == "ReLU" || type == "LeakyReLU" || type == "Flatten" || type == "Reshape",
          "R1 penalty: expected a discriminator of Dense, ReLU, LeakyReLU and Flatten/Reshape layers, ending in "
          "one logit or a Sigmoid; layer ", i, " is ", type);
  }
  return n;
}

}  // namespace detail

/// gamma / 2 * mean over the batch of |d logit / dx|^2 at the real samples x.
/// Bound to one discriminator, which must outlive it (the constructor throws
/// unless the penalty can run through it), and kept between steps, so a
/// steady-state step allocates nothing. `outputs_logits` declares what d
/// outputs: its logit, or a probability from a final Sigmoid.
template <class T>
class R1Penalty {
 public:
  R1Penalty(nn::Module<T>& d, bool outputs_logits)
      : d_(as_sequential(d)), layers_(detail::r1_layer_count(d_, outputs_logits)) {}

  Var<T> operator()(const Tensor<T>& real, T gamma) {
    check(real.shape().rank() >= 1 && real.dim(0) > 0, "R1 penalty: expected a batch of samples, found ",
          real.shape());
    const Index batch = real.dim(0);

    // The forward pass without a graph, keeping what the input gradient needs:
    // each Dense layer's weight and each activation's slopes, flattened per
    // sample (Flatten and Reshape leave the per-sample vector as it is).
    factors_.clear();
    Var<T> h(real);
    {
      NoGrad no_grad;
      for (std::size_t i = 0; i < layers_; ++i) {
        nn::Module<T>& layer = d_[i];
        if (auto* dense = dynamic_cast<nn::Dense<T>*>(&layer)) {
          factors_.push_back({dense->weight(), true});
        } else if (layer.type_name() == "ReLU" || layer.type_name() == "LeakyReLU") {
          const auto* leaky = dynamic_cast<nn::LeakyReLU<T>*>(&layer);
          const T below = leaky ? leaky->slope() : T(0);
          Tensor<T> slopes = Tensor<T>::uninitialized(Shape{batch, h.numel() / batch});
          slopes.array() = below + (T(1) - below) * (h.value().array() > T(0)).template cast<T>();
          factors_.push_back({Var<T>(std::move(slopes)), false});
        }
        h = layer(h);
      }
    }
    check(h.shape() == Shape{batch, 1}, "R1 penalty: expected one logit per sample [", batch, ", 1], found ",
          h.shape());

    // Back from d logit / d logit = 1, through the recorded factors in reverse.
    Var<T> grad(Tensor<T>::full(Shape{batch, 1}, T(1)));
    for (auto f = factors_.rbegin(); f != factors_.rend(); ++f)
      grad = f->weight ? matmul(grad, f->value) : mul(grad, f->value);
    factors_.clear();  // the graph holds what it needs
    return scale(sum(mul(grad, grad)), gamma / (T(2) * static_cast<T>(batch)));
  }

 private:
  static nn::Sequential<T>& as_sequential(nn::Module<T>& d) {
    auto* layers = dynamic_cast<nn::Sequential<T>*>(&d);
    check(layers != nullptr, "R1 penalty: expected a Sequential discriminator of Dense, ReLU, LeakyReLU and "
          "Flatten/Reshape layers, found a ", d.type_name());
    return *layers;
  }
  struct Factor {
    Var<T> value;
    bool weight;  // a Dense weight (multiplied), else activation slopes (elementwise)
  };
  nn::Sequential<T>& d_;
  std::size_t layers_;  // all of d_ but a final Sigmoid (when it outputs probabilities)
  std::vector<Factor> factors_;
};

/// The penalty once, for a discriminator outside a training loop.
template <class T>
Var<T> r1_penalty(nn::Module<T>& d, const Tensor<T>& real, T gamma, bool outputs_logits = false) {
  return R1Penalty<T>(d, outputs_logits)(real, gamma);
}

}  // namespace tinygan::gan
