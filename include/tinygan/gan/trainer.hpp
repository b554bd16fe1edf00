// One GAN iteration as MODELS.md fixes it: a D step on a real batch and a
// batch of fakes made without gradient, then a G step through the frozen D
// (nothing of D changes: weights, BatchNorm statistics, optimizer state),
// with real label 1 and fake label 0.
#pragma once

#include <memory>

#include "tinygan/autograd/backward.hpp"
#include "tinygan/gan/models.hpp"
#include "tinygan/ops/elementwise.hpp"
#include "tinygan/ops/losses.hpp"
#include "tinygan/optim/adam.hpp"

namespace tinygan::gan {

// The generator's loss against "real" labels: BCE, or (the inverted model's
// recipe) the mean squared logarithmic error between D's output and 1.
enum class GeneratorLoss { bce, msle };

struct Recipe {
  double lr_g = 2e-4, lr_d = 2e-4;
  double beta1 = 0.5, beta2 = 0.999;
  GeneratorLoss g_loss = GeneratorLoss::bce;
};

struct StepStats {
  double d_loss = 0;      // mean BCE over the real and the fake batch
  double g_loss = 0;
  double d_acc_real = 0;  // share of real samples D scores above 0.5
  double d_acc_fake = 0;  // share of fakes D scores below 0.5
};

class Trainer {
 public:
  using Model = models::Model<float>;

  Trainer(Model generator, Model discriminator, const Recipe& recipe)
      : g_(std::move(generator)),
        d_(std::move(discriminator)),
        combined_(models::combined(g_, d_)),
        recipe_(recipe),
        opt_g_(g_->parameters(), optim::AdamOptions(recipe.lr_g).beta1(recipe.beta1).beta2(recipe.beta2)),
        opt_d_(d_->parameters(), optim::AdamOptions(recipe.lr_d).beta1(recipe.beta1).beta2(recipe.beta2)) {}

  // real: a batch of real samples; fake_input: G's inputs for the D step's
  // fakes; g_input: G's inputs for the G step (fresh noise, or the same
  // images for an autoencoder generator).
  StepStats step(const Tensor<float>& real, const Tensor<float>& fake_input,
                 const Tensor<float>& g_input) {
    StepStats stats;
    Var<float> fake;
    {
      NoGrad no_grad;
      fake = (*g_)(Var<float>(fake_input));
    }
    opt_d_.zero_grad();
    const Var<float> d_real = (*d_)(Var<float>(real));
    const Var<float> d_fake = (*d_)(fake);
    const Var<float> d_loss = scale(add(bce(d_real, labels(real_ones_, real.dim(0), 1.0f)),
                                        bce(d_fake, labels(fake_zeros_, fake_input.dim(0), 0.0f))),
                                    0.5f);
    backward(d_loss);
    opt_d_.step();
    stats.d_loss = d_loss.value()[0];
    stats.d_acc_real = share(d_real.value(), [](float p) { return p > 0.5f; });
    stats.d_acc_fake = share(d_fake.value(), [](float p) { return p < 0.5f; });

    d_->set_trainable(false);
    opt_g_.zero_grad();
    const Var<float> score = (*combined_)(Var<float>(g_input));
    const Tensor<float>& target = labels(g_ones_, g_input.dim(0), 1.0f);
    const Var<float> g_loss =
        recipe_.g_loss == GeneratorLoss::bce ? bce(score, target) : msle(score, target);
    backward(g_loss);
    opt_g_.step();
    d_->set_trainable(true);
    stats.g_loss = g_loss.value()[0];
    ++iteration_;
    return stats;
  }

  nn::Sequential<float>& generator() { return *g_; }
  nn::Sequential<float>& discriminator() { return *d_; }
  optim::Adam<float>& generator_optimizer() { return opt_g_; }
  optim::Adam<float>& discriminator_optimizer() { return opt_d_; }
  const Recipe& recipe() const { return recipe_; }
  std::int64_t iteration() const { return iteration_; }
  void set_iteration(std::int64_t i) { iteration_ = i; }

 private:
  // A [n, 1] label tensor, built on first use and reused.
  static const Tensor<float>& labels(Tensor<float>& cache, Index n, float value) {
    if (cache.shape() != Shape{n, 1}) cache = Tensor<float>::full({n, 1}, value);
    return cache;
  }
  template <class Pred>
  static double share(const Tensor<float>& p, Pred pred) {
    Index hits = 0;
    for (float v : p) hits += pred(v) ? 1 : 0;
    return p.numel() ? static_cast<double>(hits) / static_cast<double>(p.numel()) : 0.0;
  }

  Model g_, d_, combined_;
  Recipe recipe_;
  optim::Adam<float> opt_g_, opt_d_;
  Tensor<float> real_ones_, fake_zeros_, g_ones_;  // label batches, built once
  std::int64_t iteration_ = 0;
};

}  // namespace tinygan::gan
