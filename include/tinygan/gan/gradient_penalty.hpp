/// \file
/// Gradient penalties on D. R1, the gradient penalty of Mescheder, Geiger and Nowozin (2018, "Which
/// training methods for GANs do actually converge?"): gamma / 2 times the
/// batch mean of |d logit(x) / dx|^2 over real samples, added to D's loss. It
/// keeps D from turning steep around the data, the pull that makes a
/// generator drop digits (docs/results.md measures it).
///
/// WGAN-GP's (Gulrajani et al., 2017, "Improved training of Wasserstein
/// GANs"): lambda times the batch mean of (|d D(x) / dx| - 1)^2 at random
/// interpolates x of real and fake samples, which keeps a Wasserstein critic
/// 1-Lipschitz.
///
/// The input gradient is built as a graph by grad(..., create_graph), so any
/// discriminator whose ops have differentiable rules can carry it: dense or
/// convolutional, with BatchNorm in train mode, conditional or not.
#pragma once

#include <cstring>

#include "tinygan/autograd/backward.hpp"
#include "tinygan/nn/conditional.hpp"
#include "tinygan/ops/elementwise.hpp"

namespace tinygan::gan {

/// D's logit: `out` itself, or for a D that outputs probabilities the input
/// of its final sigmoid (the penalty is on the logit, where a saturated
/// sigmoid cannot flatten it).
template <class T>
Var<T> logit_of(const Var<T>& out, bool outputs_logits) {
  if (outputs_logits) return out;
  check(std::strcmp(out.op(), "sigmoid") == 0 && !out.node().inputs.empty(), "R1 penalty: a discriminator "
        "declared to output probabilities must end in a Sigmoid (the penalty is on the logit before it); its "
        "output comes from '", out.op(), "'");
  return Var<T>(out.node().inputs[0]);
}

/// gamma / 2 * mean over the batch of |d sum(logit) / dx|^2: x is the real
/// batch D saw (a Var that requires a gradient), logit D's logits for it, one
/// per sample. The result's backward trains D's weights through the gradient.
template <class T>
Var<T> r1_penalty(const Var<T>& x, const Var<T>& logit, T gamma) {
  check(x.shape().rank() >= 1 && x.shape()[0] > 0, "R1 penalty: expected a batch of samples, found ", x.shape());
  check(logit.shape() == Shape{x.shape()[0], 1}, "R1 penalty: expected one logit per sample [", x.shape()[0], ", 1], found ",
        logit.shape());
  const Var<T> g = grad(sum(logit), x, GradGraphMode::create_graph);
  return scale(sum(mul(g, g)), gamma / (T(2) * static_cast<T>(x.shape()[0])));
}

/// lambda * mean over the batch of (|d sum(score) / dx_n| - 1)^2: x the
/// interpolates the critic saw (a Var that requires a gradient), score its
/// output for them, one per sample.
template <class T>
Var<T> wgan_gp_penalty(const Var<T>& x, const Var<T>& score, T lambda) {
  check(x.shape().rank() >= 1 && x.shape()[0] > 0, "WGAN-GP penalty: expected a batch of samples, found ", x.shape());
  check(score.shape() == Shape{x.shape()[0], 1}, "WGAN-GP penalty: expected one score per sample [", x.shape()[0],
        ", 1], found ", score.shape());
  const Var<T> g = grad(sum(score), x, GradGraphMode::create_graph);
  // (The tiny shift keeps the norm's derivative finite where a gradient vanishes.)
  const Var<T> gap = add_scalar(square_root(sum_per_sample(mul(g, g)), T(1e-12)), T(-1));
  return scale(mean(mul(gap, gap)), lambda);
}

/// The penalty of discriminator d (with its labels, when conditional) at the
/// real samples, from a forward pass of its own: for use outside a Trainer,
/// which shares D's pass over the reals between its loss and the penalty.
template <class T>
Var<T> r1_penalty(nn::Module<T>& d, const Tensor<T>& real, T gamma, bool outputs_logits = false,
                  const Tensor<T>* labels = nullptr) {
  const Var<T> x(real, true);
  return r1_penalty(x, logit_of(nn::apply(d, x, labels), outputs_logits), gamma);
}

}  // namespace tinygan::gan
