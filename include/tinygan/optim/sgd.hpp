/// \file
/// SGD with momentum, as PyTorch computes it (no dampening): the buffer starts
/// as the first gradient, then b = momentum * b + g; w -= lr * b.
#pragma once

#include "tinygan/nn/options.hpp"
#include "tinygan/optim/optimizer.hpp"

namespace tinygan::optim {

struct SGDOptions {
  SGDOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT: reads as a learning rate
  TINYGAN_ARG(double, lr, 1e-2)
  TINYGAN_ARG(double, momentum, 0.0)
  TINYGAN_ARG(double, weight_decay, 0.0)
};

template <class T>
class SGD : public Optimizer<T> {
 public:
  SGD(std::vector<Var<T>> parameters, const SGDOptions& options = {})
      : Optimizer<T>(std::move(parameters), "SGD"), options_(options) {
    check(options.lr() > 0 && options.momentum() >= 0 && options.weight_decay() >= 0,
          "SGD: expected lr > 0, momentum >= 0 and weight_decay >= 0, found lr ", options.lr(),
          ", momentum ", options.momentum(), ", weight_decay ", options.weight_decay());
    for (const auto& p : this->parameters_) buffers_.push_back(Tensor<T>::zeros(p.shape()));
    started_.assign(this->parameters_.size(), false);
  }

  void step() override {
    const T lr = static_cast<T>(options_.lr()), momentum = static_cast<T>(options_.momentum());
    const T decay = static_cast<T>(options_.weight_decay());
    for (std::size_t i = 0; i < this->parameters_.size(); ++i) {
      Var<T>& p = this->parameters_[i];
      if (!this->updatable(p)) continue;
      auto w = p.value().array();
      const auto g = p.grad().array() + decay * w;
      if (options_.momentum() == 0) {
        w -= lr * g;
        continue;
      }
      auto b = buffers_[i].array();
      if (started_[i])
        b = momentum * b + g;
      else
        b = g;
      started_[i] = true;
      w -= lr * b;
    }
  }

  const SGDOptions& options() const { return options_; }

 private:
  SGDOptions options_;
  std::vector<Tensor<T>> buffers_;
  std::vector<bool> started_;
};

}  // namespace tinygan::optim
