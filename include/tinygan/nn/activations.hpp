/// \file
/// Parameter-free modules: ReLU, LeakyReLU, Tanh, Sigmoid.
#pragma once

#include "tinygan/nn/module.hpp"
#include "tinygan/ops/activations.hpp"

namespace tinygan::nn {

template <class T>
class ReLU : public Module<T> {
 public:
  Var<T> forward(const Var<T>& x) override { return relu(x); }
  std::string type_name() const override { return "ReLU"; }
};

template <class T>
class LeakyReLU : public Module<T> {
 public:
  explicit LeakyReLU(double slope = 0.01) : slope_(static_cast<T>(slope)) {}  // PyTorch's default
  Var<T> forward(const Var<T>& x) override { return leaky_relu(x, slope_); }
  std::string type_name() const override { return "LeakyReLU"; }
  T slope() const { return slope_; }

 private:
  T slope_;
};

template <class T>
class Tanh : public Module<T> {
 public:
  Var<T> forward(const Var<T>& x) override { return tanh(x); }
  std::string type_name() const override { return "Tanh"; }
};

template <class T>
class Sigmoid : public Module<T> {
 public:
  Var<T> forward(const Var<T>& x) override { return sigmoid(x); }
  std::string type_name() const override { return "Sigmoid"; }
};

}  // namespace tinygan::nn
