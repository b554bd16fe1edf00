// Elementwise activations: relu, leaky_relu, tanh, sigmoid.
// Each backward reads what it needs from the node itself (x from the input,
// y from the output), so nothing extra is saved.
#pragma once

#include <cmath>

#include "tinygan/autograd/var.hpp"

namespace tinygan {

template <class T>
Var<T> leaky_relu(const Var<T>& x, T slope) {
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  const auto in = x.value().array();
  out.array() = (in > T(0)).select(in, in * slope);
  return make_result<T>(std::move(out), "leaky_relu", {x}, [slope](Node<T>& self) {
    if (auto* g = self.input_grad(0)) {
      const auto in = self.input_value(0).array();
      g->array() += (in > T(0)).select(self.grad.array(), self.grad.array() * slope);
    }
  });
}

template <class T>
Var<T> relu(const Var<T>& x) {
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  out.array() = x.value().array().max(T(0));
  return make_result<T>(std::move(out), "relu", {x}, [](Node<T>& self) {
    if (auto* g = self.input_grad(0)) {
      const auto in = self.input_value(0).array();
      g->array() += (in > T(0)).select(self.grad.array(), T(0));
    }
  });
}

template <class T>
Var<T> tanh(const Var<T>& x) {
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  out.array() = x.value().array().tanh();
  return make_result<T>(std::move(out), "tanh", {x}, [](Node<T>& self) {
    if (auto* g = self.input_grad(0)) {
      const auto y = self.value.array();
      g->array() += self.grad.array() * (T(1) - y * y);
    }
  });
}

template <class T>
Var<T> sigmoid(const Var<T>& x) {
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  // 1 / (1 + exp(-x)) overflows harmlessly to 0 for very negative x.
  out.array() = T(1) / (T(1) + (-x.value().array()).exp());
  return make_result<T>(std::move(out), "sigmoid", {x}, [](Node<T>& self) {
    if (auto* g = self.input_grad(0)) {
      const auto y = self.value.array();
      g->array() += self.grad.array() * y * (T(1) - y);
    }
  });
}

}  // namespace tinygan
