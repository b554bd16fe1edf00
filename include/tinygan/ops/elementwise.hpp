/// \file
/// Elementwise arithmetic and reductions, each with its backward.
#pragma once

#include "tinygan/autograd/var.hpp"

namespace tinygan {

namespace detail {
template <class T>
void check_same_shape(const char* op, const Var<T>& a, const Var<T>& b) {
  check(a.shape() == b.shape(), op, ": operands must have the same shape, found ", a.shape(),
        " and ", b.shape());
}
}  // namespace detail

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  detail::check_same_shape("add", a, b);
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = a.value().array() + b.value().array();
  return make_result<T>(std::move(out), "add", {a, b}, [](Node<T>& self) {
    for (std::size_t i = 0; i < 2; ++i)
      if (auto* g = self.input_grad(i)) g->array() += self.grad.array();
  });
}

template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  detail::check_same_shape("sub", a, b);
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = a.value().array() - b.value().array();
  return make_result<T>(std::move(out), "sub", {a, b}, [](Node<T>& self) {
    if (auto* g = self.input_grad(0)) g->array() += self.grad.array();
    if (auto* g = self.input_grad(1)) g->array() -= self.grad.array();
  });
}

template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  detail::check_same_shape("mul", a, b);
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = a.value().array() * b.value().array();
  return make_result<T>(std::move(out), "mul", {a, b}, [](Node<T>& self) {
    if (auto* g = self.input_grad(0)) g->array() += self.grad.array() * self.input_value(1).array();
    if (auto* g = self.input_grad(1)) g->array() += self.grad.array() * self.input_value(0).array();
  });
}

template <class T>
Var<T> scale(const Var<T>& a, T factor) {
  Tensor<T> out = Tensor<T>::uninitialized(a.shape());
  out.array() = a.value().array() * factor;
  return make_result<T>(std::move(out), "scale", {a}, [factor](Node<T>& self) {
    if (auto* g = self.input_grad(0)) g->array() += self.grad.array() * factor;
  });
}

/// Sum of all elements, as a scalar (rank 0).
template <class T>
Var<T> sum(const Var<T>& a) {
  Tensor<T> out{Shape{}};
  out[0] = a.value().array().sum();
  return make_result<T>(std::move(out), "sum", {a}, [](Node<T>& self) {
    if (auto* g = self.input_grad(0)) g->array() += self.grad[0];
  });
}

template <class T>
Var<T> mean(const Var<T>& a) {
  check(a.numel() > 0, "mean: the input is empty");
  return scale(sum(a), T(1) / static_cast<T>(a.numel()));
}

/// Each sample's sum: [N, ...] -> [N, 1] (PyTorch's x.flatten(1).sum(1, keepdim=True)).
template <class T>
Var<T> sum_per_sample(const Var<T>& a) {
  check(a.shape().rank() >= 1, "sum_per_sample: expected a batch dimension, found a scalar");
  const Index n = a.shape()[0], size = a.shape().per_sample();
  Tensor<T> out = Tensor<T>::uninitialized(Shape{n, 1});
  out.array() = a.value().matrix(n, size).rowwise().sum().array();
  return make_result<T>(std::move(out), "sum_per_sample", {a}, [n, size](Node<T>& self) {
    if (T* g = self.input_grad_data(0))
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < size; ++j) g[i * size + j] += self.grad[i];
  });
}

}  // namespace tinygan
