/// \file
/// Elementwise activations: relu, leaky_relu, tanh, sigmoid.
/// Each backward reads what it needs from the node itself (x from the input,
/// y from the output), so nothing extra is saved.
#pragma once

#include <cmath>

#include "tinygan/autograd/var.hpp"
#include "tinygan/core/threads.hpp"

namespace tinygan {

namespace detail {
/// The sign tests run as SIMD loops: Eigen 3.4's select() is scalar, and on
/// random signs its branch mispredicts every other element (measured 10x
/// slower at -O2, where GCC does not vectorize it either).
template <class T>
void leaky_forward(const T* x, T* y, T slope, Index n) {
#pragma omp simd
  for (Index i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : x[i] * slope;
}

template <class T>
void leaky_backward(const T* x, const T* dy, T* g, T slope, Index n) {
#pragma omp simd
  for (Index i = 0; i < n; ++i) g[i] += x[i] > T(0) ? dy[i] : dy[i] * slope;
}

/// Where x <= 0 nothing is added, even for an infinite dy (as PyTorch).
template <class T>
void relu_backward(const T* x, const T* dy, T* g, Index n) {
#pragma omp simd
  for (Index i = 0; i < n; ++i) g[i] += x[i] > T(0) ? dy[i] : T(0);
}
}  // namespace detail

template <class T>
Var<T> leaky_relu(const Var<T>& x, T slope) {
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  for_each_share(out.numel(), [&](Index b, Index n) {
    detail::leaky_forward(x.value().data() + b, out.data() + b, slope, n);
  });
  return make_result<T>(std::move(out), "leaky_relu", {x}, [slope](Node<T>& self) {
    if (auto* g = self.input_grad(0)) {
      for_each_share(g->numel(), [&](Index b, Index n) {
        detail::leaky_backward(self.input_value(0).data() + b, self.grad.data() + b, g->data() + b, slope, n);
      });
    }
  });
}

template <class T>
Var<T> relu(const Var<T>& x) {
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  for_each_share(out.numel(), [&](Index b, Index n) { out.array(b, n) = x.value().array(b, n).max(T(0)); });
  return make_result<T>(std::move(out), "relu", {x}, [](Node<T>& self) {
    if (auto* g = self.input_grad(0)) {
      for_each_share(g->numel(), [&](Index b, Index n) {
        detail::relu_backward(self.input_value(0).data() + b, self.grad.data() + b, g->data() + b, n);
      });
    }
  });
}

template <class T>
Var<T> tanh(const Var<T>& x) {
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  for_each_share(out.numel(), [&](Index b, Index n) { out.array(b, n) = x.value().array(b, n).tanh(); });
  return make_result<T>(std::move(out), "tanh", {x}, [](Node<T>& self) {
    if (auto* g = self.input_grad(0)) {
      for_each_share(g->numel(), [&](Index b, Index n) {
        const auto y = self.value.array(b, n);
        g->array(b, n) += self.grad.array(b, n) * (T(1) - y * y);
      });
    }
  });
}

template <class T>
Var<T> sigmoid(const Var<T>& x) {
  Tensor<T> out = Tensor<T>::uninitialized(x.shape());
  // 1 / (1 + exp(-x)) overflows harmlessly to 0 for very negative x.
  for_each_share(out.numel(), [&](Index b, Index n) {
    out.array(b, n) = T(1) / (T(1) + (-x.value().array(b, n)).exp());
  });
  return make_result<T>(std::move(out), "sigmoid", {x}, [](Node<T>& self) {
    if (auto* g = self.input_grad(0)) {
      for_each_share(g->numel(), [&](Index b, Index n) {
        const auto y = self.value.array(b, n);
        g->array(b, n) += self.grad.array(b, n) * y * (T(1) - y);
      });
    }
  });
}

}  // namespace tinygan
