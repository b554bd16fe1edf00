/// \file
/// BatchNorm's running statistics measured again for a model's current
/// weights (BigGAN's "standing statistics"). A moving average of a
/// generator's weights needs this: the running statistics it could copy were
/// gathered by the generator's own, other weights, and normalizing with them
/// costs the DCGAN 0.1-0.3 FID (docs/results.md).
#pragma once

#include <vector>

#include "tinygan/autograd/grad_mode.hpp"
#include "tinygan/nn/batch_norm.hpp"
#include "tinygan/nn/conditional.hpp"
#include "tinygan/nn/module.hpp"

namespace tinygan::nn {

/// Replaces every BatchNorm's running statistics in `model` by the plain
/// average over `batches` forward passes on `next_input()` (each a batch as
/// training would feed it). Only the BatchNorm layers run in training mode
/// (dropout stays off) and no gradient is recorded; every mode is restored.
/// A model without BatchNorm is left as it is, and next_input is not called.
/// A conditional model (nn::Conditional) takes `labels` [batch] beside each input.
template <class T, class NextInput>
void reestimate_batch_norm(Module<T>& model, int batches, NextInput&& next_input, const Tensor<T>* labels = nullptr) {
  check(batches >= 1, "reestimate_batch_norm: expected at least one batch, found ", batches);
  std::vector<BatchNorm<T>*> norms;
  model.visit([&](Module<T>& m) {
    if (auto* norm = dynamic_cast<BatchNorm<T>*>(&m)) norms.push_back(norm);
  });
  if (norms.empty()) return;
  struct Restore {  // even if a forward throws
    std::vector<BatchNorm<T>*>& norms;
    ~Restore() {
      for (auto* norm : norms) norm->set_cumulative_average(false);
    }
  } restore_averaging{norms};
  const ModesGuard<T> restore_modes(model);
  model.eval();
  for (auto* norm : norms)
    check(norm->trainable(), "reestimate_batch_norm: a frozen BatchNorm keeps its running statistics; unfreeze it");
  for (auto* norm : norms) {
    norm->reset_running_statistics();
    norm->set_cumulative_average(true);
    norm->train_self(true);
  }
  NoGrad no_grad;
  for (int i = 0; i < batches; ++i) apply(model, Var<T>(next_input()), labels);
}

}  // namespace tinygan::nn
