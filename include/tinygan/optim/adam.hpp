/// \file
/// Adam, exactly as PyTorch computes it: eps added outside the square root,
/// bias correction from each parameter's own step count (advanced once per
/// step() in which the parameter is updated), weight decay as L2 on the grad.
#pragma once

#include <cmath>

#include "tinygan/core/threads.hpp"
#include "tinygan/nn/options.hpp"
#include "tinygan/optim/optimizer.hpp"

namespace tinygan::optim {

struct AdamOptions {
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: reads as a learning rate
  TINYGAN_ARG(double, lr, 1e-3)
  TINYGAN_ARG(double, beta1, 0.9)
  TINYGAN_ARG(double, beta2, 0.999)
  TINYGAN_ARG(double, eps, 1e-8)
  TINYGAN_ARG(double, weight_decay, 0.0)
};

template <class T>
class Adam : public Optimizer<T> {
 public:
  struct State {
    Tensor<T> m, v;  // first and second moment estimates
    std::int64_t step = 0;
  };

  Adam(std::vector<Var<T>> parameters, const AdamOptions& options = {})
      : Optimizer<T>(std::move(parameters), "Adam"), options_(options) {
    check(options.lr() > 0 && options.eps() > 0 && options.weight_decay() >= 0,
          "Adam: expected lr > 0, eps > 0 and weight_decay >= 0, found lr ", options.lr(),
          ", eps ", options.eps(), ", weight_decay ", options.weight_decay());
    check(options.beta1() >= 0 && options.beta1() < 1 && options.beta2() >= 0 &&
              options.beta2() < 1,
          "Adam: expected betas in [0, 1), found ", options.beta1(), " and ", options.beta2());
    for (const auto& p : this->parameters_)
      state_.push_back({Tensor<T>::zeros(p.shape()), Tensor<T>::zeros(p.shape()), 0});
  }

  void step() override {
    const T beta1 = static_cast<T>(options_.beta1()), beta2 = static_cast<T>(options_.beta2());
    const T eps = static_cast<T>(options_.eps()), decay = static_cast<T>(options_.weight_decay());
    for (std::size_t i = 0; i < this->parameters_.size(); ++i) {
      Var<T>& p = this->parameters_[i];
      if (!this->updatable(p)) continue;
      State& s = state_[i];
      ++s.step;
      const double correction1 = 1 - std::pow(options_.beta1(), static_cast<double>(s.step));
      const double correction2 = 1 - std::pow(options_.beta2(), static_cast<double>(s.step));
      const T step_size = static_cast<T>(options_.lr() / correction1);
      const T root_correction2 = static_cast<T>(std::sqrt(correction2));
      for_each_share(p.value().numel(), [&](Index b, Index n) {
        auto w = p.value().array(b, n);
        auto m = s.m.array(b, n);
        auto v = s.v.array(b, n);
        const auto g = p.grad().array(b, n) + decay * w;
        m = beta1 * m + (T(1) - beta1) * g;
        v = beta2 * v + (T(1) - beta2) * g * g;
        w -= step_size * m / (v.sqrt() / root_correction2 + eps);
      });
    }
  }

  const AdamOptions& options() const { return options_; }
  /// A learning-rate schedule's hook; the moments are kept (PyTorch's
  /// param_groups[0]["lr"] = lr).
  void set_lr(double lr) {
    check(lr > 0, "Adam: expected lr > 0, found ", lr);
    options_.lr(lr);
  }
  std::vector<State>& state() { return state_; }

 private:
  AdamOptions options_;
  std::vector<State> state_;
};

}  // namespace tinygan::optim
